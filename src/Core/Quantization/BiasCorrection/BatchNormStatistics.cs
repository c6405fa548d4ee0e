using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.BiasCorrection;

/// <summary>
/// What the fp32 model's BatchNorm layers say about the values they produce: BN(y) = γ·ŷ + β with ŷ
/// normalised, so each output channel is taken as N(β, γ²) (Nagel et al., ICCV 2019). Captured
/// before BatchNorm folding; folding keeps the BN output's value name, so the statistics are found
/// again by name in the folded graph.
/// </summary>
public sealed class BatchNormStatistics
{
    private readonly Dictionary<string, (double[] Mean, double[] Std)> _byValue;

    private BatchNormStatistics(Dictionary<string, (double[], double[])> byValue) => _byValue = byValue;

    public int Count => _byValue.Count;

    /// <summary>The per-channel N(β, γ²) of every inference BatchNormalization output whose γ and β are constants.</summary>
    public static BatchNormStatistics Capture(Model fp32)
    {
        var g = fp32.Graph;
        var stats = new Dictionary<string, (double[], double[])>(StringComparer.Ordinal);
        foreach (var bn in g.Nodes)
        {
            if (bn.OpType != "BatchNormalization" || bn.Domain is not ("" or "ai.onnx") || bn.Outputs.Count == 0
                || bn.GetInt("training_mode", 0) != 0
                || bn.Input(1) is not { } gName || bn.Input(2) is not { } bName
                || !g.Initializers.TryGetValue(gName, out var gamma) || !g.Initializers.TryGetValue(bName, out var beta)
                || !gamma.Type.IsFloat() || gamma.Length != beta.Length)
            {
                continue;
            }
            stats[bn.Outputs[0]] = (beta.ToFloats().Select(v => (double)v).ToArray(), gamma.ToFloats().Select(v => Math.Abs((double)v)).ToArray());
        }
        return new BatchNormStatistics(stats);
    }

    /// <summary>
    /// E[x] per channel of <paramref name="value"/> in <paramref name="graph"/> when it is a BatchNorm output,
    /// or one through Relu or Clip with constant bounds; null otherwise (the input's mean is then unknown).
    /// </summary>
    public double[]? ExpectedValue(Graph.Graph graph, IReadOnlyDictionary<string, Node> producers, string value)
    {
        if (_byValue.TryGetValue(value, out var direct))
        {
            return direct.Mean;
        }
        if (producers.GetValueOrDefault(value) is not { Domain: "" or "ai.onnx" } act || act.Input(0) is not { } source
            || !_byValue.TryGetValue(source, out var s) || Bounds(graph, act) is not var (lo, hi))
        {
            return null;
        }
        var e = new double[s.Mean.Length];
        for (var c = 0; c < e.Length; c++)
        {
            e[c] = GaussianMoments.ClippedMean(s.Mean[c], s.Std[c], lo, hi);
        }
        return e;
    }

    private static (double Lo, double Hi)? Bounds(Graph.Graph g, Node act)
    {
        switch (act.OpType)
        {
            case "Relu":
                return (0, double.PositiveInfinity);
            case "Clip":
                double Bound(int input, string attribute, double fallback)
                {
                    if (act.Input(input) is { } name)
                    {
                        return g.Initializers.TryGetValue(name, out var t) && t.Length == 1 ? t.ToFloats()[0] : double.NaN;
                    }
                    return act.Attributes.ContainsKey(attribute) ? act.GetFloat(attribute, 0) : fallback;
                }
                var lo = Bound(1, "min", double.NegativeInfinity);
                var hi = Bound(2, "max", double.PositiveInfinity);
                return double.IsNaN(lo) || double.IsNaN(hi) ? null : (lo, hi);
            default:
                return null;
        }
    }
}
