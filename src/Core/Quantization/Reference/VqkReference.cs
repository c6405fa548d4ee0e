namespace DSConvService.Core.Quantization.Reference;

/// <summary>
/// The scalar specification of DSConv weight quantization (DESIGN 2.1). Faster code is tested against it.
/// </summary>
public static class VqkReference
{
    /// <summary>
    /// VQK of one block: w* is the element of largest magnitude with its sign (the first one on ties),
    /// s = -2^(b-1) / w*, q = clamp(round_half_even(s·w), -2^(b-1), 2^(b-1)-1). An all-zero block gives q = 0.
    /// </summary>
    public static void QuantizeBlock(ReadOnlySpan<float> w, int bits, Span<sbyte> q)
    {
        var wStar = 0f;
        foreach (var v in w)
        {
            if (MathF.Abs(v) > MathF.Abs(wStar))
            {
                wStar = v;
            }
        }
        if (wStar == 0f)
        {
            q.Clear();
            return;
        }
        var lo = -(1 << (bits - 1));
        var hi = (1 << (bits - 1)) - 1;
        var s = lo / wStar;
        for (var i = 0; i < w.Length; i++)
        {
            q[i] = (sbyte)Math.Clamp(MathF.Round(s * w[i], MidpointRounding.ToEven), lo, hi);
        }
    }

    /// <summary>Clip ratios the <c>mse</c> scale rule tries, largest first: 1.00, 0.98, …, 0.60.</summary>
    public static readonly float[] ClipRatios = Enumerable.Range(0, 21).Select(i => 1f - 0.02f * i).ToArray();

    /// <summary>
    /// VQK with the scale of a clipped w*: s = -2^(b-1) / (r·w*), q = clamp(round_half_even(s·w), -2^(b-1), 2^(b-1)-1).
    /// r = 1 is <see cref="QuantizeBlock"/>.
    /// </summary>
    public static void QuantizeBlock(ReadOnlySpan<float> w, int bits, float clipRatio, Span<sbyte> q)
    {
        var wStar = LargestMagnitude(w);
        if (wStar == 0f)
        {
            q.Clear();
            return;
        }
        var lo = -(1 << (bits - 1));
        var hi = (1 << (bits - 1)) - 1;
        var s = lo / (clipRatio * wStar);
        for (var i = 0; i < w.Length; i++)
        {
            q[i] = (sbyte)Math.Clamp(MathF.Round(s * w[i], MidpointRounding.ToEven), lo, hi);
        }
    }

    /// <summary>
    /// The <c>mse</c> scale rule: tries every ratio of <see cref="ClipRatios"/> and keeps the q whose
    /// least-squares ξ leaves the smallest ‖w − ξ·q‖² (the largest ratio on ties, so never worse than
    /// the max rule). Returns the ratio kept.
    /// </summary>
    public static float QuantizeBlockMse(ReadOnlySpan<float> w, int bits, Span<sbyte> q)
    {
        var wStar = LargestMagnitude(w);
        if (wStar == 0f)
        {
            q.Clear();
            return 1f;
        }
        var lo = -(1 << (bits - 1));
        var hi = (1 << (bits - 1)) - 1;
        double ww = 0;
        foreach (var v in w)
        {
            ww += (double)v * v;
        }
        var best = double.PositiveInfinity;
        var bestRatio = 1f;
        foreach (var r in ClipRatios)
        {
            // The q of QuantizeBlock(w, bits, r) without storing it: only Σw·q and Σq² are needed.
            var s = lo / (r * wStar);
            double wq = 0, qq = 0;
            for (var i = 0; i < w.Length; i++)
            {
                var qi = Math.Clamp(MathF.Round(s * w[i], MidpointRounding.ToEven), lo, hi);
                wq += (double)w[i] * qi;
                qq += (double)qi * qi;
            }
            var error = qq == 0 ? ww : Math.Max(0, ww - wq * wq / qq);
            if (error < best)
            {
                best = error;
                bestRatio = r;
            }
        }
        QuantizeBlock(w, bits, bestRatio, q);
        return bestRatio;
    }

    /// <summary>‖w − ξ·q‖² with ξ = Σ w·q / Σ q·q, i.e. Σw² − (Σw·q)² / Σq² (Σw² when every q is 0).</summary>
    public static double ErrorWithLeastSquaresScale(ReadOnlySpan<float> w, ReadOnlySpan<sbyte> q)
    {
        double ww = 0, wq = 0, qq = 0;
        for (var i = 0; i < w.Length; i++)
        {
            ww += (double)w[i] * w[i];
            wq += (double)w[i] * q[i];
            qq += (double)q[i] * q[i];
        }
        return qq == 0 ? ww : Math.Max(0, ww - wq * wq / qq);
    }

    private static float LargestMagnitude(ReadOnlySpan<float> w)
    {
        var wStar = 0f;
        foreach (var v in w)
        {
            if (MathF.Abs(v) > MathF.Abs(wStar))
            {
                wStar = v;
            }
        }
        return wStar;
    }

    /// <summary>KDS by least squares: ξ = Σ w·q / Σ q·q (0 when every q is 0).</summary>
    public static float KdsL2(ReadOnlySpan<float> w, ReadOnlySpan<sbyte> q)
    {
        double num = 0, den = 0;
        for (var i = 0; i < w.Length; i++)
        {
            num += (double)w[i] * q[i];
            den += (double)q[i] * q[i];
        }
        return den == 0 ? 0f : (float)(num / den);
    }
}
