using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Quantization.Reference;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>BFP-quantizes one input row of a fully connected layer (DESIGN 2.2, blocks of K) into signed mantissas and block scales.</summary>
public static unsafe class DenseRowPacker
{
    /// <param name="m">Out: mantissas, blocks <paramref name="blockStride"/> apart, padding zeroed.</param>
    /// <param name="s">Out: per block 2^(e−M+2) (an all-zero block has all-zero mantissas, so its scale does not matter).</param>
    public static void Pack(float* x, int k, DSConvFormat f, int blockStride, sbyte* m, float* s)
    {
        var b = f.BlockSize;
        var blocks = f.ActivationBlocksPerGroup(k);
        var lo = -(1 << (f.MantissaBits - 1));
        var hi = (1 << (f.MantissaBits - 1)) - 1;
        for (var j = 0; j < blocks; j++)
        {
            var len = Math.Min(b, k - j * b);
            var block = new ReadOnlySpan<float>(x + j * b, len);
            var e = BfpReference.BlockExponent(block, f.ExponentBits);
            var dst = m + j * blockStride;
            // BfpReference.Mantissa with the block's scale hoisted: the same float operations per element.
            var scale = MathF.ScaleB(1f, f.MantissaBits - 2 - e);
            for (var i = 0; i < len; i++)
            {
                dst[i] = (sbyte)Math.Clamp(MathF.Round(block[i] * scale, MidpointRounding.ToEven), lo, hi);
            }
            new Span<sbyte>(dst + len, blockStride - len).Clear();
            s[j] = MathF.ScaleB(1f, e - f.MantissaBits + 2);
        }
    }
}
