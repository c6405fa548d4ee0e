namespace DSConvService.Core.Kernels.DSConv.Reference;

/// <summary>
/// The scalar specification of block floating point activations (DESIGN 2.2). Blocks are
/// channel blocks of <c>blockSize</c> inside each group, at one (n, y, x).
/// </summary>
public static class BfpReference
{
    /// <summary>Exponent of an all-zero block (its mantissas are all 0, so any value works; this one is fixed).</summary>
    public static int ZeroBlockExponent(int exponentBits) => -(1 << (exponentBits - 1));

    /// <summary>e = max floor(log2|x|) over the non-zero elements, clamped to the signed exponent range.</summary>
    public static int BlockExponent(ReadOnlySpan<float> x, int exponentBits)
    {
        var e = int.MinValue;
        foreach (var v in x)
        {
            if (v != 0f && float.IsFinite(v))
            {
                e = Math.Max(e, MathF.ILogB(v));
            }
        }
        var min = -(1 << (exponentBits - 1));
        var max = (1 << (exponentBits - 1)) - 1;
        return e == int.MinValue ? min : Math.Clamp(e, min, max);
    }

    /// <summary>m = clamp(round_half_even(x · 2^(M-2-e)), -2^(M-1), 2^(M-1)-1).</summary>
    public static sbyte Mantissa(float x, int e, int mantissaBits)
    {
        var scaled = x * MathF.ScaleB(1f, mantissaBits - 2 - e);
        var lo = -(1 << (mantissaBits - 1));
        var hi = (1 << (mantissaBits - 1)) - 1;
        return (sbyte)Math.Clamp(MathF.Round(scaled, MidpointRounding.ToEven), lo, hi);
    }

    /// <summary>x̂ = m · 2^(e-M+2).</summary>
    public static float Value(sbyte m, int e, int mantissaBits) => m * MathF.ScaleB(1f, e - mantissaBits + 2);

    /// <summary>
    /// Quantizes an NCHW tensor: mantissas m (same shape) and exponents e of shape
    /// [N, groups·ceil(Cg/B), H, W].
    /// </summary>
    public static (sbyte[] Mantissas, int[] Exponents) Quantize(
        ReadOnlySpan<float> x, int n, int c, int h, int w, int groups, int blockSize, int mantissaBits, int exponentBits)
    {
        var cg = c / groups;
        var nbPerGroup = (cg + blockSize - 1) / blockSize;
        var nb = groups * nbPerGroup;
        var hw = h * w;
        var m = new sbyte[x.Length];
        var e = new int[n * nb * hw];
        Span<float> block = stackalloc float[Math.Min(blockSize, cg)];
        for (var b = 0; b < n; b++)
        {
            for (var g = 0; g < groups; g++)
            {
                for (var j = 0; j < nbPerGroup; j++)
                {
                    var c0 = g * cg + j * blockSize;
                    var len = Math.Min(blockSize, cg - j * blockSize);
                    for (var p = 0; p < hw; p++)
                    {
                        for (var i = 0; i < len; i++)
                        {
                            block[i] = x[((b * c) + c0 + i) * hw + p];
                        }
                        var exp = BlockExponent(block[..len], exponentBits);
                        e[((b * nb) + g * nbPerGroup + j) * hw + p] = exp;
                        for (var i = 0; i < len; i++)
                        {
                            m[((b * c) + c0 + i) * hw + p] = Mantissa(block[i], exp, mantissaBits);
                        }
                    }
                }
            }
        }
        return (m, e);
    }

    /// <summary>x̂ of a whole NCHW tensor: quantize then dequantize (the simulated activation).</summary>
    public static float[] Simulate(ReadOnlySpan<float> x, int n, int c, int h, int w, int groups, int blockSize, int mantissaBits, int exponentBits)
    {
        var (m, e) = Quantize(x, n, c, h, w, groups, blockSize, mantissaBits, exponentBits);
        var cg = c / groups;
        var nbPerGroup = (cg + blockSize - 1) / blockSize;
        var nb = groups * nbPerGroup;
        var hw = h * w;
        var r = new float[x.Length];
        for (var b = 0; b < n; b++)
        {
            for (var ch = 0; ch < c; ch++)
            {
                var g = ch / cg;
                var j = (ch - g * cg) / blockSize;
                for (var p = 0; p < hw; p++)
                {
                    var idx = ((b * c) + ch) * hw + p;
                    r[idx] = Value(m[idx], e[((b * nb) + g * nbPerGroup + j) * hw + p], mantissaBits);
                }
            }
        }
        return r;
    }
}
