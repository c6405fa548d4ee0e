namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The quantized weights of one layer as the graph holds them: VQK integers Q[O, Cg, kh, kw],
/// KDS ξ [O, nb, kh, kw] ([O,1,1,1] when depthwise), optional KDS bias β (like ξ), CDS scale and
/// bias [O], and the layer bias [O]. ŵ = (ξ·q + β)·cdsScale + cdsBias.
/// </summary>
public sealed class DSConvWeights
{
    public DSConvWeights(int o, int cg, int kh, int kw, DSConvFormat format, sbyte[] q, float[] kds,
        float[]? bias = null, float[]? kdsBias = null, float[]? cdsScale = null, float[]? cdsBias = null)
    {
        O = o;
        Cg = cg;
        KH = kh;
        KW = kw;
        Format = format;
        Nb = format.BlocksPerGroup(cg);
        var kdsLength = format.Depthwise ? o : o * Nb * kh * kw;
        if (q.Length != o * cg * kh * kw)
        {
            throw new ArgumentException($"Q has {q.Length} values, the weight shape [{o},{cg},{kh},{kw}] needs {o * cg * kh * kw}.");
        }
        Check(kds, kdsLength, "Kds");
        Check(kdsBias, kdsLength, "KdsBias");
        Check(bias, o, "Bias");
        Check(cdsScale, o, "CdsScale");
        Check(cdsBias, o, "CdsBias");
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

    public int O { get; }
    public int Cg { get; }
    public int KH { get; }
    public int KW { get; }
    public int Nb { get; }
    public DSConvFormat Format { get; }
    public sbyte[] Q { get; }
    public float[] Kds { get; }
    public float[]? Bias { get; }
    public float[]? KdsBias { get; }
    public float[]? CdsScale { get; }
    public float[]? CdsBias { get; }

    /// <summary>Index into <see cref="Kds"/> of the block holding input channel <paramref name="ci"/> (inside its group) at tap (ky, kx).</summary>
    public int KdsIndex(int o, int ci, int ky, int kx) =>
        Format.Depthwise ? o : ((o * Nb + ci / Format.BlockSize) * KH + ky) * KW + kx;

    /// <summary>The effective float weights ŵ [O, Cg, kh, kw].</summary>
    public float[] Effective()
    {
        var w = new float[Q.Length];
        for (var o = 0; o < O; o++)
        {
            for (var ci = 0; ci < Cg; ci++)
            {
                for (var ky = 0; ky < KH; ky++)
                {
                    for (var kx = 0; kx < KW; kx++)
                    {
                        var i = ((o * Cg + ci) * KH + ky) * KW + kx;
                        var k = KdsIndex(o, ci, ky, kx);
                        var v = Kds[k] * Q[i] + (KdsBias?[k] ?? 0f);
                        if (CdsScale is not null)
                        {
                            v *= CdsScale[o];
                        }
                        w[i] = v + (CdsBias?[o] ?? 0f);
                    }
                }
            }
        }
        return w;
    }

    private static void Check(float[]? a, int length, string name)
    {
        if (a is not null && a.Length != length)
        {
            throw new ArgumentException($"{name} has {a.Length} values, {length} expected.");
        }
    }
}
