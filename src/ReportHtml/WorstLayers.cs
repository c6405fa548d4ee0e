using DSConvService.Core.Reports;

namespace DSConvService.ReportHtml;

/// <summary>The layers that lost the most: lowest output SQNR (weight SQNR where no output SQNR was measured).</summary>
public static class WorstLayers
{
    /// <summary>Indices (network order) of the worst quarter of the layers, at least 1 and at most 3.</summary>
    public static IReadOnlySet<int> Pick(IReadOnlyList<LayerSection> layers)
    {
        if (layers.Count == 0)
        {
            return new HashSet<int>();
        }
        var count = Math.Clamp(layers.Count / 4, 1, 3);
        return layers.Select((layer, index) => (Index: index, Db: layer.OutputSqnrDb ?? layer.WeightSqnrDb))
            .OrderBy(l => double.IsNaN(l.Db) ? double.NegativeInfinity : l.Db)
            .Take(count)
            .Select(l => l.Index)
            .ToHashSet();
    }
}
