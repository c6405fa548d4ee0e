using DSConvService.Core.Reports;
using ScottPlot;

namespace DSConvService.ReportHtml.Charts;

/// <summary>
/// Weight SQNR and output SQNR of every quantized layer in network order, two bars per layer,
/// each layer's bits and block under its number, the worst layers shaded.
/// </summary>
public static class LayerChart
{
    /// <summary>SQNR is drawn at most this high (an exact layer has +∞ dB).</summary>
    public const double CapDb = 80;

    public static string Render(IReadOnlyList<LayerSection> layers, IReadOnlySet<int> worst)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var positions = new double[layers.Count];
        var labels = new string[layers.Count];
        for (var i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var x = i * 3.0;
            if (worst.Contains(i))
            {
                plot.Add.HorizontalSpan(x - 0.7, x + 1.7, Color.FromHex(ChartColors.Worst).WithAlpha(0.15));
            }
            bars.Add(Mark(x, layer.WeightSqnrDb, ChartColors.WeightSqnr));
            if (layer.OutputSqnrDb is { } output)
            {
                bars.Add(Mark(x + 1, output, ChartColors.OutputSqnr));
            }
            positions[i] = x + 0.5;
            labels[i] = $"{i + 1}\n{layer.WeightBits}b/{layer.BlockSize}";
        }
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, labels);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Margins(bottom: 0);
        plot.XLabel("layer (network order) · weight bits / block");
        plot.YLabel("SQNR (dB)");
        plot.Grid.XAxisStyle.IsVisible = false;
        return SvgChart.Render(plot, Math.Clamp(120 + 42 * layers.Count, 480, 1600), 360, "layers");
    }

    private static Bar Mark(double position, double db, string color) => new()
    {
        Position = position,
        Value = double.IsNaN(db) ? 0 : Math.Clamp(db, -CapDb, CapDb),
        FillColor = Color.FromHex(color),
        LineWidth = 0,
        Size = 0.9,
    };
}
