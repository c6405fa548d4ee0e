namespace DSConvService.Core.Numerics;

/// <summary>Comparison measures between a reference tensor (fp32) and a test tensor (quantized).</summary>
public static class Metrics
{
    /// <summary>10·log10(Σ ref² / Σ (ref − test)²) in dB; +∞ when identical, −∞ when the reference is all zero but the test is not.</summary>
    public static double SqnrDb(ReadOnlySpan<float> reference, ReadOnlySpan<float> test)
    {
        var (signal, noise) = SignalNoise(reference, test);
        return SqnrDb(signal, noise);
    }

    /// <summary>Σ ref² and Σ (ref − test)² in double (sums over several tensors add up to one SQNR).</summary>
    public static (double Signal, double Noise) SignalNoise(ReadOnlySpan<float> reference, ReadOnlySpan<float> test)
    {
        Check(reference, test);
        double signal = 0, noise = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            signal += (double)reference[i] * reference[i];
            var d = (double)reference[i] - test[i];
            noise += d * d;
        }
        return (signal, noise);
    }

    public static double SqnrDb(double signal, double noise) =>
        noise == 0 ? double.PositiveInfinity : signal == 0 ? double.NegativeInfinity : 10 * Math.Log10(signal / noise);

    /// <summary>Cosine similarity; 1 when both are all zero, 0 when exactly one is.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Check(a, b);
        double ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            ab += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }
        if (aa == 0 || bb == 0)
        {
            return aa == bb ? 1 : 0;
        }
        return ab / Math.Sqrt(aa * bb);
    }

    /// <summary>Numerically stable softmax in double.</summary>
    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var v in logits)
        {
            max = Math.Max(max, v);
        }
        var p = new double[logits.Length];
        double z = 0;
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = Math.Exp(logits[i] - max);
            z += p[i];
        }
        for (var i = 0; i < p.Length; i++)
        {
            p[i] /= z;
        }
        return p;
    }

    /// <summary>KL(softmax(p) ‖ softmax(q)) in nats, from logits.</summary>
    public static double KlDivergence(ReadOnlySpan<float> pLogits, ReadOnlySpan<float> qLogits)
    {
        Check(pLogits, qLogits);
        var p = Softmax(pLogits);
        var q = Softmax(qLogits);
        double kl = 0;
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] > 0)
            {
                kl += p[i] * (Math.Log(p[i]) - Math.Log(Math.Max(q[i], 1e-300)));
            }
        }
        return Math.Max(kl, 0);
    }

    /// <summary>Index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> v)
    {
        var best = 0;
        for (var i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best])
            {
                best = i;
            }
        }
        return best;
    }

    /// <summary>Indices of the <paramref name="k"/> largest values, best first (the lower index first on ties).</summary>
    public static int[] TopK(ReadOnlySpan<float> v, int k)
    {
        var scores = v.ToArray();
        return Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(Math.Max(k, 0)).ToArray();
    }

    /// <summary>True when <paramref name="label"/> is among the k largest values (ties counted against it).</summary>
    public static bool InTopK(ReadOnlySpan<float> v, int label, int k)
    {
        if ((uint)label >= (uint)v.Length)
        {
            return false;
        }
        var above = 0;
        for (var i = 0; i < v.Length; i++)
        {
            if (v[i] > v[label] || (v[i] == v[label] && i < label))
            {
                above++;
            }
        }
        return above < k;
    }

    private static void Check(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Tensors differ in length: {a.Length} vs {b.Length}.");
        }
    }
}
