using DSConvService.Core.Kernels.Pooling;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.Pooling;

/// <summary>
/// The separable pooling kernels, both horizontal paths (AVX-512 blocks, strided gather) and the 2×2/2 and 3×3/2
/// fast paths against the scalar window formulas, over widths around the 8- and 16-lane blocks, pads, dilations
/// and ceil_mode.
/// </summary>
public class PoolKernelTests
{
    public static TheoryData<int, int, int, int, int, bool> Geometries()
    {
        var data = new TheoryData<int, int, int, int, int, bool>();
        // width, kernel, stride, pad, dilation, ceil_mode
        foreach (var width in new[] { 1, 2, 5, 15, 16, 17, 24, 31, 32, 33, 34, 47, 64, 65, 112 })
        {
            data.Add(width, 3, 2, 1, 1, false);
            data.Add(width, 3, 2, 1, 1, true);
            data.Add(width, 3, 2, 0, 1, true);
            data.Add(width, 2, 2, 0, 1, false);
            // ceil_mode on odd widths: the last window hangs over the edge, so the 2×2/2 fast path must not take it.
            data.Add(width, 2, 2, 0, 1, true);
            data.Add(width, 3, 1, 1, 1, false);
            data.Add(width, 3, 1, 1, 1, true);
            if (width >= 3)
            {
                data.Add(width, 3, 1, 0, 1, false);
            }
        }
        foreach (var width in new[] { 9, 17, 33, 50 })
        {
            data.Add(width, 5, 2, 2, 1, true);
            data.Add(width, 3, 2, 0, 2, false);
            data.Add(width, 3, 1, 2, 2, false);
            data.Add(width, 4, 3, 1, 1, true);
            data.Add(width, 1, 2, 0, 1, false);
            data.Add(width, 7, 1, 3, 1, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Planes_Match_The_Window_Formulas(int width, int kernel, int stride, int pad, int dilation, bool ceil)
    {
        var height = width % 7 + 3;
        var g = Window(height, width, kernel, stride, pad, dilation, ceil);
        var x = RandomTensors.Normal(width * 31 + kernel, [height * width]).Floats;
        var max = new float[g.OutputH * g.OutputW];
        var avg = new float[max.Length];
        var avgIncludingPad = new float[max.Length];
        // Scratch a little larger than asked and dirty, as a reused buffer would be.
        var scratch = Enumerable.Repeat(float.NaN, g.ScratchLength + 5).ToArray();
        MaxPoolKernel.Plane(x, max, g, scratch);
        AveragePoolKernel.Plane(x, avg, g, false, scratch);
        AveragePoolKernel.Plane(x, avgIncludingPad, g, true, scratch);
        for (var oh = 0; oh < g.OutputH; oh++)
        {
            for (var ow = 0; ow < g.OutputW; ow++)
            {
                var (m, sum, inside, inPadded) = Reference(x, g, oh, ow);
                var i = oh * g.OutputW + ow;
                Assert.Equal(m, max[i]);
                if (inside > 0)
                {
                    Assert.Equal(sum / inside, avg[i], 1e-5f);
                }
                Assert.Equal(sum / inPadded, avgIncludingPad[i], 1e-5f);
            }
        }
    }

    /// <summary>The channel-blocked max pool on 11 planes (a partial block of 3), dirty scratch, 1 and 2 threads.</summary>
    [SkippableTheory]
    [MemberData(nameof(Geometries))]
    public unsafe void Channel_Blocked_Max_Matches_The_Window_Formulas(int width, int kernel, int stride, int pad, int dilation, bool ceil)
    {
        Skip.IfNot(MaxPoolChannelBlocked.Supported, "no AVX2 on this machine");
        const int planes = 11;
        var height = width % 7 + 3;
        var g = Window(height, width, kernel, stride, pad, dilation, ceil);
        var x = RandomTensors.Normal(width * 17 + kernel, [planes * height * width]).Floats;
        foreach (var threads in new[] { 1, 2 })
        {
            var y = Enumerable.Repeat(float.NaN, planes * g.OutputH * g.OutputW + 3).ToArray();
            var scratch = Enumerable.Repeat(float.NaN, (int)MaxPoolChannelBlocked.ScratchFloats(g)).ToArray();
            fixed (float* px = x, py = y, ps = scratch)
            {
                MaxPoolChannelBlocked.Run(px, py, planes, g, ps, threads);
            }
            for (var p = 0; p < planes; p++)
            {
                var plane = x.AsSpan(p * height * width, height * width).ToArray();
                for (var oh = 0; oh < g.OutputH; oh++)
                {
                    for (var ow = 0; ow < g.OutputW; ow++)
                    {
                        Assert.Equal(Reference(plane, g, oh, ow).Max, y[(p * g.OutputH + oh) * g.OutputW + ow]);
                    }
                }
            }
            // Nothing written past the last plane.
            Assert.All(y[^3..], v => Assert.True(float.IsNaN(v)));
        }
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void Horizontal_Paths_Agree_With_Each_Other_And_The_Formula(int stride)
    {
        Skip.IfNot(HorizontalWindow.HasFastPath(stride), "no AVX-512 on this machine");
        foreach (var outputs in new[] { 1, 3, 15, 16, 17, 31, 32, 33, 56, 100 })
        {
            foreach (var (kernel, dilation) in new[] { (1, 1), (2, 1), (3, 1), (3, 2), (5, 1) })
            {
                var length = (outputs - 1) * stride + (kernel - 1) * dilation + 1;
                var capacity = HorizontalWindow.Capacity(length, outputs, kernel, stride, dilation);
                var padded = RandomTensors.Normal(outputs + kernel, [capacity]).Floats;
                // Past the row the vector path may read but must not use.
                padded.AsSpan(length).Fill(float.MaxValue);
                var fastMax = new float[outputs];
                var fastSum = new float[outputs];
                var gatherMax = new float[outputs];
                var gatherSum = new float[outputs];
                HorizontalWindow.ReduceAvx512<MaxReduction>(padded, fastMax, kernel, stride, dilation);
                HorizontalWindow.ReduceAvx512<SumReduction>(padded, fastSum, kernel, stride, dilation);
                HorizontalWindow.ReduceGather<MaxReduction>(padded, gatherMax, kernel, stride, dilation, new float[outputs]);
                HorizontalWindow.ReduceGather<SumReduction>(padded, gatherSum, kernel, stride, dilation, new float[outputs]);
                for (var ow = 0; ow < outputs; ow++)
                {
                    var taps = Enumerable.Range(0, kernel).Select(kw => padded[ow * stride + kw * dilation]).ToArray();
                    Assert.Equal(taps.Max(), fastMax[ow]);
                    Assert.Equal(taps.Max(), gatherMax[ow]);
                    Assert.Equal(taps.Sum(), fastSum[ow], 1e-5f);
                    Assert.Equal(taps.Sum(), gatherSum[ow], 1e-5f);
                }
            }
        }
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void Avx2_Horizontal_Path_Agrees_With_The_Formula(int stride)
    {
        Skip.IfNot(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "no AVX2 on this machine");
        foreach (var outputs in new[] { 8, 9, 15, 16, 17, 31, 56, 100 })
        {
            foreach (var (kernel, dilation) in new[] { (1, 1), (2, 1), (3, 1), (3, 2), (5, 1) })
            {
                var length = (outputs - 1) * stride + (kernel - 1) * dilation + 1;
                var capacity = HorizontalWindow.Capacity(length, outputs, kernel, stride, dilation);
                var padded = RandomTensors.Normal(outputs + kernel, [capacity]).Floats;
                // Past the row the vector path may read but must not use.
                padded.AsSpan(length).Fill(float.MaxValue);
                var max = new float[outputs];
                var sum = new float[outputs];
                HorizontalWindow.ReduceAvx2<MaxReduction>(padded, max, kernel, stride, dilation);
                HorizontalWindow.ReduceAvx2<SumReduction>(padded, sum, kernel, stride, dilation);
                for (var ow = 0; ow < outputs; ow++)
                {
                    var taps = Enumerable.Range(0, kernel).Select(kw => padded[ow * stride + kw * dilation]).ToArray();
                    Assert.Equal(taps.Max(), max[ow]);
                    Assert.Equal(taps.Sum(), sum[ow], 1e-5f);
                }
            }
        }
    }

    [Fact]
    public void Vertical_Reduction_Covers_Every_Column()
    {
        foreach (var width in new[] { 1, 15, 16, 17, 33, 112 })
        {
            var x = RandomTensors.Normal(width, [5 * width]).Floats;
            var max = new float[width];
            var sum = new float[width];
            VerticalWindow.Reduce<MaxReduction>(x.AsSpan(width), 2 * width, 2, max);
            VerticalWindow.Reduce<SumReduction>(x, width, 5, sum);
            for (var c = 0; c < width; c++)
            {
                Assert.Equal(Math.Max(x[width + c], x[3 * width + c]), max[c]);
                Assert.Equal(x[c] + x[width + c] + x[2 * width + c] + x[3 * width + c] + x[4 * width + c], sum[c], 1e-5f);
            }
        }
    }

    /// <summary>The ONNX output size of one dimension, with ceil_mode dropping a window that starts in the end padding.</summary>
    private static int OutputSize(int size, int kernel, int stride, int pad, int dilation, bool ceil)
    {
        var span = size + 2 * pad - ((kernel - 1) * dilation + 1);
        var output = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
        return ceil && (output - 1) * stride >= size + pad ? output - 1 : output;
    }

    private static PoolWindow Window(int height, int width, int kernel, int stride, int pad, int dilation, bool ceil) =>
        new(kernel, kernel, stride, stride, dilation, dilation, pad, pad, pad, pad, height, width,
            OutputSize(height, kernel, stride, pad, dilation, ceil), OutputSize(width, kernel, stride, pad, dilation, ceil));

    /// <summary>Max (float.MinValue when empty), sum and count over the taps inside the plane, and the count inside the padded extent.</summary>
    private static (float Max, float Sum, int Inside, int InPadded) Reference(float[] x, PoolWindow g, int oh, int ow)
    {
        float m = float.MinValue, sum = 0;
        int inside = 0, inPadded = 0;
        for (var kh = 0; kh < g.KernelH; kh++)
        {
            for (var kw = 0; kw < g.KernelW; kw++)
            {
                var h = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                var w = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                if (h >= -g.PadTop && h < g.InputH + g.PadBottom && w >= -g.PadLeft && w < g.InputW + g.PadRight)
                {
                    inPadded++;
                }
                if (h >= 0 && h < g.InputH && w >= 0 && w < g.InputW)
                {
                    m = Math.Max(m, x[h * g.InputW + w]);
                    sum += x[h * g.InputW + w];
                    inside++;
                }
            }
        }
        return (m, sum, inside, inPadded);
    }
}
