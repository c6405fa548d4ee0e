using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Quantization.Reference;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>The AVX2 (8-pixel) BFP simulation against the scalar spec, bit for bit, also on AVX-512 machines.</summary>
public unsafe class BfpSimulatorAvx2Tests
{
    [SkippableTheory]
    [InlineData(32, 8, 8)]
    [InlineData(7, 5, 8)]
    [InlineData(1, 6, 8)]
    [InlineData(17, 4, 5)]
    [InlineData(32, 8, 2)]
    public void Eight_Pixels_Equal_The_Reference(int channels, int exponentBits, int mantissaBits)
    {
        Skip.IfNot(Avx2.IsSupported, "AVX2 is not available on this CPU.");
        const int hw = 24;
        var rng = new Random(channels * 31 + mantissaBits);
        var x = DSConvTestData.Activations(rng, channels * hw, hw);
        var f = new DSConvFormat(32, 4, mantissaBits, exponentBits, false);
        var dst = new float[x.Length];
        var done = new bool[hw];
        fixed (float* px = x, pd = dst)
        {
            for (var p0 = 0; p0 < hw; p0 += 8)
            {
                var vector = BfpSimulatorAvx2.SimulateVector(px, pd, channels, hw, p0, f);
                for (var i = 0; i < 8; i++)
                {
                    done[p0 + i] = vector;
                }
            }
        }
        Assert.Contains(true, done);
        Span<float> block = stackalloc float[channels];
        for (var p = 0; p < hw; p++)
        {
            if (!done[p])
            {
                continue;
            }
            for (var c = 0; c < channels; c++)
            {
                block[c] = x[c * hw + p];
            }
            var e = BfpReference.BlockExponent(block, f.ExponentBits);
            for (var c = 0; c < channels; c++)
            {
                Assert.Equal(BfpReference.Value(BfpReference.Mantissa(block[c], e, f.MantissaBits), e, f.MantissaBits), dst[c * hw + p]);
            }
        }
    }
}
