namespace DSConvService.Core.Quantization.Weights;

/// <summary>
/// A DSConv-quantized weight, seen as [O, C, S] (S = kh·kw spatial taps; FC layers have S = 1).
/// Regular layers: blocks of <see cref="BlockSize"/> channels at each (o, s), KDS laid out
/// [O, nb, S]. Depthwise rule (C = 1): one block is the S taps of one filter, KDS is [O].
/// Effective weight ŵ = (ξ·q + β)·cdsScale + cdsBias.
/// </summary>
public sealed class QuantizedWeight
{
    public QuantizedWeight(int outChannels, int channels, int spatial, int blockSize, int bits, bool depthwise)
    {
        OutChannels = outChannels;
        Channels = channels;
        Spatial = spatial;
        BlockSize = blockSize;
        Bits = bits;
        Depthwise = depthwise;
        Q = new sbyte[outChannels * channels * spatial];
        Kds = new float[depthwise ? outChannels : outChannels * BlocksPerFilter * spatial];
    }

    public int OutChannels { get; }
    public int Channels { get; }
    public int Spatial { get; }
    public int BlockSize { get; }
    public int Bits { get; }
    public bool Depthwise { get; }

    /// <summary>Channel blocks per filter position (nb); 1 for depthwise.</summary>
    public int BlocksPerFilter => Depthwise ? 1 : (Channels + BlockSize - 1) / BlockSize;

    public sbyte[] Q { get; }
    public float[] Kds { get; }
    public float[]? KdsBias { get; set; }
    public float[]? CdsScale { get; set; }
    public float[]? CdsBias { get; set; }

    /// <summary>True when KDS values are exactly representable as float16 (stored that way in the artifact).</summary>
    public bool KdsIsFloat16 { get; set; }

    /// <summary>Index into <see cref="Kds"/> of the block holding weight (o, c, s).</summary>
    public int KdsIndex(int o, int c, int s) => Depthwise ? o : ((o * BlocksPerFilter) + c / BlockSize) * Spatial + s;

    /// <summary>ŵ in the [O, C, S] layout.</summary>
    public float[] Dequantize()
    {
        var w = new float[Q.Length];
        for (var o = 0; o < OutChannels; o++)
        {
            var scale = CdsScale?[o] ?? 1f;
            var shift = CdsBias?[o] ?? 0f;
            for (var c = 0; c < Channels; c++)
            {
                for (var s = 0; s < Spatial; s++)
                {
                    var i = (o * Channels + c) * Spatial + s;
                    var k = KdsIndex(o, c, s);
                    var v = Kds[k] * Q[i];
                    if (KdsBias is not null)
                    {
                        v += KdsBias[k];
                    }
                    if (CdsScale is not null || CdsBias is not null)
                    {
                        v = v * scale + shift;
                    }
                    w[i] = v;
                }
            }
        }
        return w;
    }

    /// <summary>Storage bits of VQK + KDS + extras (float16 or float32 KDS, float32 extras).</summary>
    public long StorageBits()
    {
        long bits = (long)Q.Length * (Bits <= 4 ? 4 : 8);
        bits += (long)Kds.Length * (KdsIsFloat16 ? 16 : 32);
        bits += (KdsBias?.Length ?? 0) * 32L;
        bits += ((CdsScale?.Length ?? 0) + (CdsBias?.Length ?? 0)) * 32L;
        return bits;
    }
}
