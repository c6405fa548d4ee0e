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
