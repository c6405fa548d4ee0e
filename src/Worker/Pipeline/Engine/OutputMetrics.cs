using DSConvService.Core.Reports;

namespace DSConvService.Worker.Pipeline.Engine;

/// <summary>
/// Accumulates the comparison of fp32 and quantized outputs over a set of inputs: top-1 agreement,
/// mean KL(softmax(fp32) ‖ softmax(quantized)), output SQNR over all samples, mean cosine; and, with
/// labels, top-1 / top-5 accuracy of both.
/// </summary>
public sealed class OutputMetrics
{
    private int _samples, _agree, _fp32Top1, _qTop1, _fp32Top5, _qTop5, _labelled;
    private double _kl, _cosine, _signal, _noise;

    public void Add(ReadOnlySpan<float> fp32, ReadOnlySpan<float> quantized, int label = -1)
    {
        _samples++;
        var a = ArgMax(fp32);
        var b = ArgMax(quantized);
        if (a == b) _agree++;
        _kl += Kl(fp32, quantized);
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < fp32.Length; i++)
        {
            dot += (double)fp32[i] * quantized[i];
            na += (double)fp32[i] * fp32[i];
            nb += (double)quantized[i] * quantized[i];
            var d = (double)fp32[i] - quantized[i];
            _noise += d * d;
        }
        _signal += na;
        _cosine += na == 0 || nb == 0 ? (na == nb ? 1 : 0) : dot / Math.Sqrt(na * nb);
        if (label >= 0)
        {
            _labelled++;
            if (a == label) _fp32Top1++;
            if (b == label) _qTop1++;
            if (InTopK(fp32, label, 5)) _fp32Top5++;
            if (InTopK(quantized, label, 5)) _qTop5++;
        }
    }

    public FidelitySection Fidelity() => new()
    {
        Samples = _samples,
        Top1Agreement = _samples == 0 ? 0 : (double)_agree / _samples,
        MeanKl = _samples == 0 ? 0 : _kl / _samples,
        OutputSqnrDb = _noise == 0 ? 999 : 10 * Math.Log10(_signal / _noise),
        Cosine = _samples == 0 ? 0 : _cosine / _samples,
    };

    public AccuracySection? Accuracy()
    {
        if (_labelled == 0)
        {
            return null;
        }
        double n = _labelled;
        return new AccuracySection
        {
            Samples = _labelled,
            Fp32Top1 = _fp32Top1 / n,
            QuantizedTop1 = _qTop1 / n,
            Top1Drop = (_fp32Top1 - _qTop1) / n,
            Fp32Top5 = _fp32Top5 / n,
            QuantizedTop5 = _qTop5 / n,
        };
    }

    public static int ArgMax(ReadOnlySpan<float> x)
    {
        var best = 0;
        for (var i = 1; i < x.Length; i++)
        {
            if (x[i] > x[best]) best = i;
        }
        return best;
    }

    /// <summary>Indices of the k largest scores, best first.</summary>
    public static int[] TopK(ReadOnlySpan<float> x, int k)
    {
        var scores = x.ToArray();
        return Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(k).ToArray();
    }

    public static float[] Softmax(ReadOnlySpan<float> x)
    {
        var max = float.NegativeInfinity;
        foreach (var v in x) max = MathF.Max(max, v);
        var p = new float[x.Length];
        double sum = 0;
        for (var i = 0; i < x.Length; i++)
        {
            p[i] = MathF.Exp(x[i] - max);
            sum += p[i];
        }
        for (var i = 0; i < p.Length; i++) p[i] = (float)(p[i] / sum);
        return p;
    }

    private static bool InTopK(ReadOnlySpan<float> x, int label, int k)
    {
        if (label >= x.Length) return false;
        var greater = 0;
        for (var i = 0; i < x.Length; i++)
        {
            if (x[i] > x[label] || (x[i] == x[label] && i < label)) greater++;
        }
        return greater < k;
    }

    private static double Kl(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        var sp = Softmax(p);
        var sq = Softmax(q);
        double kl = 0;
        for (var i = 0; i < sp.Length; i++)
        {
            if (sp[i] > 0) kl += sp[i] * Math.Log(sp[i] / Math.Max(sq[i], 1e-30));
        }
        return Math.Max(kl, 0);
    }
}
