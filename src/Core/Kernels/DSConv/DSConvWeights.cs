namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The one type for a DSConv-quantized weight, from the quantizer to the kernels: VQK integers
/// Q[O, Cg, kh, kw] (FC layers: kh = kw = 1), KDS ξ [O, nb, kh, kw] ([O] under the depthwise rule),
/// optional KDS bias β (like ξ), CDS scale and bias [O], and the layer bias [O].
/// ŵ = (ξ·q + β)·cdsScale + cdsBias (<see cref="Effective"/>, the one formula).
/// The quantizer and adaptation fill Q and ξ in place and may add β / CDS; kernels copy what they
/// need when they are built.
/// </summary>
public sealed class DSConvWeights
{
    private float[]? _kdsBias, _cdsScale, _cdsBias;

    public DSConvWeights(int o, int cg, int kh, int kw, DSConvFormat format, sbyte[] q, float[] kds,
        float[]? bias = null, float[]? kdsBias = null, float[]? cdsScale = null, float[]? cdsBias = null)
    {
        O = o;
        Cg = cg;
        KH = kh;
        KW = kw;
        Format = format;
        Nb = format.BlocksPerGroup(cg);
        if (q.Length != o * cg * kh * kw)
        {
            throw new ArgumentException($"Q has {q.Length} values, the weight shape [{o},{cg},{kh},{kw}] needs {o * cg * kh * kw}.");
        }
        Check(kds, KdsLength, "Kds");
        Check(bias, o, "Bias");
        var lo = -(1 << (format.WeightBits - 1));
        var hi = (1 << (format.WeightBits - 1)) - 1;
        foreach (var v in q)
        {
            if (v < lo || v > hi)
            {
                throw new ArgumentException($"Q holds {v}, outside the {format.WeightBits}-bit range [{lo}, {hi}].");
            }
        }
        Q = q;
        Kds = kds;
        Bias = bias;
        KdsBias = kdsBias;
        CdsScale = cdsScale;
        CdsBias = cdsBias;
    }

    /// <summary>A weight of the given shape with all Q and ξ zero, to be filled by the quantizer.</summary>
    public static DSConvWeights Zeros(int o, int cg, int kh, int kw, DSConvFormat format) =>
        new(o, cg, kh, kw, format, new sbyte[o * cg * kh * kw], new float[format.Depthwise ? o : o * format.BlocksPerGroup(cg) * kh * kw]);

    public int O { get; }
    public int Cg { get; }
    public int KH { get; }
    public int KW { get; }

    /// <summary>Taps per filter, kh·kw (the S of the [O, Cg, S] view).</summary>
    public int Spatial => KH * KW;

    /// <summary>Channel blocks per filter position (nb); 1 under the depthwise rule.</summary>
    public int Nb { get; }
    public DSConvFormat Format { get; }
    public sbyte[] Q { get; }
    public float[] Kds { get; }
    public float[]? Bias { get; }

    public float[]? KdsBias
    {
        get => _kdsBias;
        set => _kdsBias = Checked(value, KdsLength, "KdsBias");
    }

    public float[]? CdsScale
    {
        get => _cdsScale;
        set => _cdsScale = Checked(value, O, "CdsScale");
    }

    public float[]? CdsBias
    {
        get => _cdsBias;
        set => _cdsBias = Checked(value, O, "CdsBias");
    }

    /// <summary>True when the ξ values are exactly representable as float16 (stored that way in the artifact).</summary>
    public bool KdsIsFloat16 { get; set; }

    private int KdsLength => Format.Depthwise ? O : O * Nb * KH * KW;

    /// <summary>Index into <see cref="Kds"/> of the block holding input channel <paramref name="ci"/> (inside its group) at tap (ky, kx).</summary>
    public int KdsIndex(int o, int ci, int ky, int kx) => KdsIndex(o, ci, ky * KW + kx);

    /// <summary>Index into <see cref="Kds"/> of the block holding weight (o, c, s) of the [O, Cg, S] view.</summary>
    public int KdsIndex(int o, int ci, int s) =>
        Format.Depthwise ? o : (o * Nb + ci / Format.BlockSize) * Spatial + s;

    /// <summary>The effective float weights ŵ [O, Cg, kh, kw].</summary>
    public float[] Effective()
    {
        var w = new float[Q.Length];
        var s = Spatial;
        for (var o = 0; o < O; o++)
        {
            for (var ci = 0; ci < Cg; ci++)
            {
                for (var t = 0; t < s; t++)
                {
                    var i = (o * Cg + ci) * s + t;
                    var k = KdsIndex(o, ci, t);
                    var v = Kds[k] * Q[i] + (KdsBias?[k] ?? 0f);
                    if (CdsScale is not null)
                    {
                        v *= CdsScale[o];
                    }
                    w[i] = v + (CdsBias?[o] ?? 0f);
                }
            }
        }
        return w;
    }

    /// <summary>Storage bits of VQK + KDS + extras (float16 or float32 KDS, float32 extras).</summary>
    public long StorageBits()
    {
        long bits = (long)Q.Length * Format.Settings.StorageBitsPerWeight;
        bits += (long)Kds.Length * (KdsIsFloat16 ? 16 : 32);
        bits += (KdsBias?.Length ?? 0) * 32L;
        bits += ((CdsScale?.Length ?? 0) + (CdsBias?.Length ?? 0)) * 32L;
        return bits;
    }

    private static void Check(float[]? a, int length, string name) => Checked(a, length, name);

    private static float[]? Checked(float[]? a, int length, string name) =>
        a is not null && a.Length != length ? throw new ArgumentException($"{name} has {a.Length} values, {length} expected.") : a;
}
