namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Weights of a fully connected DSConv layer packed as rows for the small-batch path: per output row,
/// per block, the signed integers q padded with zeros to <see cref="BlockStride"/> (a multiple of 16),
/// and ξ (times the CDS scale) per (row, block).
/// </summary>
public sealed class DenseRowWeights
{
    public const int Align = 16;

    public DenseRowWeights(DSConvWeights w)
    {
        var b = w.Format.BlockSize;
        K = w.Cg;
        O = w.O;
        BlockLength = Math.Min(b, K);
        (Blocks, BlockStride, RowStride) = Layout(w);
        Q = new sbyte[O * RowStride];
        Xi = new float[O * Blocks];
        for (var o = 0; o < O; o++)
        {
            var cds = w.CdsScale?[o] ?? 1f;
            for (var j = 0; j < Blocks; j++)
            {
                Xi[o * Blocks + j] = w.Kds[w.KdsIndex(o, j * b, 0, 0)] * cds;
                var len = Math.Min(b, K - j * b);
                for (var i = 0; i < len; i++)
                {
                    Q[o * RowStride + j * BlockStride + i] = w.Q[o * K + j * b + i];
                }
            }
        }
    }

    /// <summary>Blocks per row, the padded block and row lengths, without packing anything.</summary>
    public static DenseLayout Layout(DSConvWeights w)
    {
        var blocks = w.Format.BlocksPerGroup(w.Cg);
        var stride = (Math.Min(w.Format.BlockSize, w.Cg) + Align - 1) / Align * Align;
        return new DenseLayout(blocks, stride, blocks * stride);
    }

    public int K { get; }
    public int O { get; }
    public int Blocks { get; }

    /// <summary>Real K of a full block (the last block may be shorter; its padding is zero).</summary>
    public int BlockLength { get; }
    public int BlockStride { get; }
    public int RowStride { get; }
    public sbyte[] Q { get; }
    public float[] Xi { get; }
}

/// <summary>The row geometry of <see cref="DenseRowWeights"/>.</summary>
public readonly record struct DenseLayout(int Blocks, int BlockStride, int RowStride);
