using DSConvService.Core.Evaluation;
using DSConvService.Core.Numerics;
using DSConvService.Core.Tensors;

namespace DSConvService.Cli.Common;

public sealed record Prediction(int Index, string? Label, float Score, float Probability);

public sealed record VectorSummary(int[] Shape, float Min, float Max, float Mean, float L2Norm, float[] First);

/// <summary>Reads a model output as class scores (top-k) or, for anything else, as a summarised vector.</summary>
public static class OutputSummary
{
    /// <summary>Class scores: a [N, K] (or [K]) output with at least two classes.</summary>
    public static bool LooksLikeClassScores(Tensor t) =>
        t.Type.IsFloat() && (t.Rank == 2 || t.Rank == 1) && t.Shape[^1] >= 2;

    /// <summary>Top-k of the first row; probabilities are the scores themselves when they already sum to 1, else their softmax.</summary>
    public static Prediction[] TopK(Tensor t, int k, IReadOnlyList<string>? labels = null)
    {
        var classes = t.Shape[^1];
        var row = t.Floats.AsSpan(0, classes).ToArray();
        var probabilities = IsDistribution(row) ? row : Metrics.Softmax(row).Select(p => (float)p).ToArray();
        return Metrics.TopK(row, Math.Max(1, k))
            .Select(i => new Prediction(i, labels is not null && i < labels.Count ? labels[i] : null, row[i], probabilities[i]))
            .ToArray();
    }

    public static VectorSummary Summarize(Tensor t)
    {
        var v = t.ToFloats();
        if (v.Length == 0)
        {
            return new VectorSummary(t.Shape, 0, 0, 0, 0, []);
        }
        double sum = 0, sq = 0;
        foreach (var x in v)
        {
            sum += x;
            sq += (double)x * x;
        }
        return new VectorSummary(t.Shape, v.Min(), v.Max(), (float)(sum / v.Length), (float)Math.Sqrt(sq), v.Take(8).ToArray());
    }

    private static bool IsDistribution(float[] row) =>
        row.All(x => x is >= 0 and <= 1) && Math.Abs(row.Sum() - 1) < 1e-3;
}
