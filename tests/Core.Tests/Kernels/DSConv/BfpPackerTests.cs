using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Quantization.Reference;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>The BFP packer gives exactly the mantissas and exponents of <see cref="BfpReference"/> at every instruction-set level.</summary>
public unsafe class BfpPackerTests
{
    public static TheoryData<string, int, int, int, int, int> Cases()
    {
        var data = new TheoryData<string, int, int, int, int, int>();
        int[][] shapes = [[32, 5, 7, 8, 8], [3, 17, 19, 8, 8], [13, 4, 40, 5, 8], [32, 9, 16, 2, 4], [7, 1, 1, 6, 3], [16, 3, 9, 8, 8]];
        foreach (var level in new[] { "scalar", "avx2", "avx512" })
        {
            if (level == "avx2" && !CpuCapabilities.Hardware.Avx2Fma || level == "avx512" && !CpuCapabilities.Hardware.Avx512)
            {
                continue;
            }
            foreach (var c in shapes)
            {
                data.Add(level, c[0], c[1], c[2], c[3], c[4]);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Packed_Mantissas_And_Scales_Equal_The_Reference(string level, int channels, int h, int w, int mantissaBits, int exponentBits)
    {
        var rng = new Random(channels * h + w);
        var hw = h * w;
        var x = DSConvTestData.Activations(rng, channels * hw, hw);
        // Exact rounding ties (k + 0.5 after scaling) and values that reach the clamp.
        for (var i = 0; i < x.Length; i += 5)
        {
            x[i] = (rng.Next(-40, 40) + 0.5f) / 16f;
        }
        x[0] = 1.9999f;
        x[hw] = -1.9999f;
        var f = new DSConvFormat(channels, 4, mantissaBits, exponentBits, false);
        var steps = (channels + 3) / 4;
        var geo = new PlaneGeometry(1, 1, h, w, h, w, hw, hw, 0, 0);
        var planes = new uint[steps * hw];
        var scales = new float[hw];
        fixed (float* px = x, ps = scales)
        fixed (uint* pp = planes)
        {
            BfpPacker.PackBlock(px, channels, h, w, f, steps, pp, ps, geo, CpuCapabilities.Hardware.Capped(level));
        }
        var (m, e) = BfpReference.Quantize(x, 1, channels, h, w, 1, channels, mantissaBits, exponentBits);
        var offset = 1 << (mantissaBits - 1);
        for (var p = 0; p < hw; p++)
        {
            var nonZero = false;
            for (var c = 0; c < channels; c++)
            {
                var u = (int)((planes[c / 4 * hw + p] >> (8 * (c % 4))) & 0xFF);
                Assert.Equal(m[c * hw + p] + offset, u);
                nonZero |= x[c * hw + p] != 0;
            }
            Assert.Equal(nonZero ? MathF.ScaleB(1f, e[p] - mantissaBits + 2) : 0f, scales[p]);
        }
    }

    /// <summary>The instruction-set levels this machine can run (the packer has a form for each).</summary>
    public static TheoryData<string> Levels()
    {
        var data = new TheoryData<string> { "scalar" };
        if (CpuCapabilities.Hardware.Avx2Fma)
        {
            data.Add("avx2");
        }
        if (CpuCapabilities.Hardware.Avx512)
        {
            data.Add("avx512");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Row_Ranges_Pack_What_The_Whole_Block_Packs(string level)
    {
        const int channels = 13, h = 11, w = 21;
        var rng = new Random(7);
        var x = DSConvTestData.Activations(rng, channels * h * w, h * w);
        var f = new DSConvFormat(32, 4, 8, 8, false);
        var steps = (channels + 3) / 4;
        // One padded row and column on every side, as a 3x3 layer with pad 1 has.
        var (hp, wp) = (h + 2, w + 2);
        var geo = new PlaneGeometry(1, 1, hp, wp, hp, wp, hp * wp, hp * wp, 1, 1);
        var caps = CpuCapabilities.Hardware.Capped(level);
        var wholePlanes = new uint[steps * hp * wp];
        var wholeScales = new float[hp * wp];
        var rangePlanes = new uint[steps * hp * wp];
        var rangeScales = new float[hp * wp];
        fixed (float* px = x, pws = wholeScales, prs = rangeScales)
        fixed (uint* pwp = wholePlanes, prp = rangePlanes)
        {
            BfpPacker.PackBlock(px, channels, h, w, f, steps, pwp, pws, geo, caps);
            // Ranges in reverse order: the padding (range 0) is written last.
            foreach (var (r0, r1) in new[] { (7, 11), (3, 7), (0, 3) })
            {
                BfpPacker.PackBlock(px, channels, h, w, f, steps, prp, prs, geo, caps, r0, r1);
            }
        }
        Assert.Equal(wholePlanes, rangePlanes);
        Assert.Equal(wholeScales, rangeScales);
    }
}
