using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.Gemm;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// x̂ of depthwise inputs as the channel-blocked depthwise path makes it while transposing (8 pixels a vector on AVX2,
/// 16 with AVX-512, where the range is checked once per 16 pixels of 8 planes): a 1×1 depthwise with weight 1 returns
/// x̂ itself, which must be the reference's rounding of every value bit for bit, edge cases included (ties, carries,
/// ±0, denormals, tiny and huge exponents, infinities, NaN), on 8-channel blocks and on a partial last block.
/// </summary>
public sealed unsafe class ChannelBlockBfpMapTests
{
    public static TheoryData<int, int, int, int> Cases()
    {
        var data = new TheoryData<int, int, int, int>();
        foreach (var lanes in new[] { 8, 16 })
        {
            foreach (var (m, e) in new[] { (8, 8), (5, 8), (3, 4), (6, 3) })
            {
                foreach (var channels in new[] { 8, 13, 32 })
                {
                    data.Add(lanes, m, e, channels);
                }
            }
        }
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Transposed_Values_Are_The_Reference_Rounding(int lanes, int mantissaBits, int exponentBits, int channels)
    {
        Skip.IfNot(DepthwiseChannelBlocked.Supported, "The channel-blocked path needs AVX2 and FMA.");
        Skip.If(lanes == 16 && !DepthwiseBlockedKernel512.Supported, "16-channel blocks need AVX-512.");
        const int h = 7, w = 37;
        var g = new ConvGeometry(1, h, w, 1, 1, 1, 1, 1, 1, 0, 0, h, w);
        var f = new DSConvFormat(32, 4, mantissaBits, exponentBits, true);
        var map = new SingleValueBfp256(f);
        var x = BfpSimulatorSinglesTests.Probes(new Random(mantissaBits * 100 + channels), mantissaBits, channels * h * w);
        // Mostly ordinary planes (the vector form), with an edge case every few values (the exact fallback).
        for (var i = 0; i < x.Length; i++)
        {
            if (i % 97 > 5 && (i % 13 is 4 or 5 or 6))
            {
                x[i] = (float)(i % 11) - 5.5f;
            }
        }
        var weights = Enumerable.Repeat(1f, channels).ToArray();
        var y = new float[x.Length];
        var scratch = new float[DepthwiseChannelBlocked.ScratchFloats(g, lanes) + 16];
        fixed (float* px = x, pw = weights, py = y, ps = scratch)
        {
            DepthwiseChannelBlocked.Run(px, map, pw, null, py, 1, channels, g, FusedActivation.None, ps, 1, lanes);
        }
        for (var i = 0; i < x.Length; i++)
        {
            var expected = MathF.FusedMultiplyAdd(map.Apply(x[i]), 1f, 0f);
            var same = float.IsNaN(expected) ? float.IsNaN(y[i]) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(y[i]);
            Assert.True(same, $"x = {x[i]:R} (0x{BitConverter.SingleToInt32Bits(x[i]):X8}) at {i}: got {y[i]:R}, the reference {expected:R}");
        }
    }
}
