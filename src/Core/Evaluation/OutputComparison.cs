using DSConvService.Core.Numerics;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Evaluation;

/// <summary>Accuracy and fidelity of quantized outputs against fp32 outputs, one row (sample) of each output tensor at a time.</summary>
public static class OutputComparison
{
    /// <summary>Rows of an output tensor: [N, ...] gives N rows of the remaining size.</summary>
    public static IEnumerable<float[]> Rows(Tensor t)
    {
        var n = t.Rank == 0 ? 1 : t.Shape[0];
        var len = n == 0 ? 0 : t.Length / n;
        for (var i = 0; i < n; i++)
        {
            yield return t.Floats.AsSpan(i * len, len).ToArray();
        }
    }

    public static FidelitySection Fidelity(IReadOnlyList<Tensor> reference, IReadOnlyList<Tensor> quantized)
    {
        var refRows = reference.SelectMany(Rows).ToList();
        var qRows = quantized.SelectMany(Rows).ToList();
        if (refRows.Count != qRows.Count)
        {
            throw new ArgumentException("Reference and quantized outputs differ in sample count.");
        }
        int agree = 0;
        double kl = 0, cos = 0, cosMin = double.PositiveInfinity, signal = 0, noise = 0;
        for (var i = 0; i < refRows.Count; i++)
        {
            var r = refRows[i];
            var q = qRows[i];
            agree += Metrics.ArgMax(r) == Metrics.ArgMax(q) ? 1 : 0;
            kl += Metrics.KlDivergence(r, q);
            var c = Metrics.Cosine(r, q);
            cos += c;
            cosMin = Math.Min(cosMin, c);
            var (s, e) = Metrics.SignalNoise(r, q);
            signal += s;
            noise += e;
        }
        var n = Math.Max(refRows.Count, 1);
        return new FidelitySection
        {
            Samples = refRows.Count,
            Top1Agreement = (double)agree / n,
            MeanKl = kl / n,
            OutputSqnrDb = Metrics.SqnrDb(signal, noise),
            Cosine = cos / n,
            CosineMin = refRows.Count == 0 ? double.NaN : cosMin,
        };
    }

    public static AccuracySection Accuracy(IReadOnlyList<Tensor> reference, IReadOnlyList<Tensor> quantized, IReadOnlyList<int> labels)
    {
        var refRows = reference.SelectMany(Rows).ToList();
        var qRows = quantized.SelectMany(Rows).ToList();
        if (refRows.Count != labels.Count || qRows.Count != labels.Count)
        {
            throw new ArgumentException($"{labels.Count} labels for {refRows.Count} outputs.");
        }
        int f1 = 0, f5 = 0, q1 = 0, q5 = 0;
        for (var i = 0; i < labels.Count; i++)
        {
            f1 += Metrics.InTopK(refRows[i], labels[i], 1) ? 1 : 0;
            f5 += Metrics.InTopK(refRows[i], labels[i], 5) ? 1 : 0;
            q1 += Metrics.InTopK(qRows[i], labels[i], 1) ? 1 : 0;
            q5 += Metrics.InTopK(qRows[i], labels[i], 5) ? 1 : 0;
        }
        var n = Math.Max(labels.Count, 1);
        return new AccuracySection
        {
            Samples = labels.Count,
            Fp32Top1 = (double)f1 / n,
            QuantizedTop1 = (double)q1 / n,
            Top1Drop = (double)(f1 - q1) / n,
            Fp32Top5 = (double)f5 / n,
            QuantizedTop5 = (double)q5 / n,
        };
    }
}
