using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Kernels.Pooling;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

/// <summary>Kernels swept over lengths around the 16-float vector width, against scalar formulas.</summary>
public class KernelSweepTests
{
    private static readonly int[] Lengths = [0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 257];

    public static TheoryData<int> Sizes()
    {
        var data = new TheoryData<int>();
        foreach (var n in Lengths)
        {
            data.Add(n);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Activations_Match_Scalar_Formulas(int n)
    {
        var x = RandomTensors.Uniform(n + 1, [n], -5f, 5f).Floats;
        var y = new float[n];
        ActivationKernels.LeakyRelu(x, y, 0.1f);
        AssertEach(n, i => x[i] >= 0 ? x[i] : 0.1f * x[i], y);
        ActivationKernels.Clip(x, y, -1f, 2f);
        AssertEach(n, i => Math.Clamp(x[i], -1f, 2f), y);
        ActivationKernels.HardSigmoid(x, y, 0.2f, 0.5f);
        AssertEach(n, i => Math.Clamp(0.2f * x[i] + 0.5f, 0f, 1f), y);
        ActivationKernels.HardSwish(x, y);
        AssertEach(n, i => x[i] * Math.Clamp(x[i] / 6f + 0.5f, 0f, 1f), y);
        var inPlace = (float[])x.Clone();
        ActivationKernels.HardSwish(inPlace, inPlace);
        AssertEach(n, i => x[i] * Math.Clamp(x[i] / 6f + 0.5f, 0f, 1f), inPlace);
        AffineKernel.ScaleShift(x, 1.5f, -0.25f, y);
        AssertEach(n, i => x[i] * 1.5f - 0.25f, y);
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Broadcast_Rows_Match_Scalar_Indexing(int n)
    {
        // [3, n] ∘ [n], [3, 1] ∘ [1, n] and [3, n] ∘ [3, 1]: every row/scalar combination.
        int[][][] cases = [[[3, n], [n]], [[3, 1], [1, n]], [[3, n], [3, 1]], [[1], [3, n]]];
        foreach (var c in cases)
        {
            var a = RandomTensors.Normal(1, c[0]);
            var b = RandomTensors.Normal(2, c[1]);
            var shape = DSConvService.Core.Tensors.ShapeUtil.Broadcast(c[0], c[1]);
            var d = new float[3 * n];
            BinaryBroadcast.Run<float, float, float, FloatRows<SubOp>>(a.Floats, a.Shape, b.Floats, b.Shape, d, shape, 2);
            var sa = BroadcastLayout.Strides(a.Shape, shape);
            var sb = BroadcastLayout.Strides(b.Shape, shape);
            for (var r = 0; r < 3; r++)
            {
                for (var k = 0; k < n; k++)
                {
                    Assert.Equal(a.Floats[r * sa[0] + k * sa[1]] - b.Floats[r * sb[0] + k * sb[1]], d[r * n + k]);
                }
            }
        }
    }

    public static TheoryData<int, int, int, int, int, int> PoolGeometries() => new()
    {
        { 15, 3, 2, 1, 1, 1 },
        { 16, 3, 2, 1, 1, 0 },
        { 17, 3, 2, 1, 0, 1 },
        { 33, 2, 2, 0, 1, 0 },
        { 31, 5, 3, 2, 1, 1 },
        { 65, 3, 1, 1, 2, 0 },
        { 7, 7, 1, 0, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(PoolGeometries))]
    public void Pool_Planes_Match_Naive_Windows(int size, int kernel, int stride, int pad, int dilation, int countIncludePad)
    {
        var extent = (kernel - 1) * dilation + 1;
        var output = (size + 2 * pad - extent) / stride + 1;
        var g = new PoolWindow(kernel, kernel, stride, stride, dilation, dilation, pad, pad, pad, pad, size, size + 1, output, (size + 1 + 2 * pad - extent) / stride + 1);
        var x = RandomTensors.Normal(3, [size * (size + 1)]).Floats;
        var max = new float[g.OutputH * g.OutputW];
        var avg = new float[max.Length];
        MaxPoolKernel.Plane(x, max, g, new float[g.ScratchLength]);
        AveragePoolKernel.Plane(x, avg, g, countIncludePad != 0, new float[g.ScratchLength]);
        for (var oh = 0; oh < g.OutputH; oh++)
        {
            for (var ow = 0; ow < g.OutputW; ow++)
            {
                float m = float.MinValue, sum = 0;
                int count = 0, padded = 0;
                for (var kh = 0; kh < kernel; kh++)
                {
                    for (var kw = 0; kw < kernel; kw++)
                    {
                        var h = oh * stride - pad + kh * dilation;
                        var w = ow * stride - pad + kw * dilation;
                        padded++;
                        if (h >= 0 && h < g.InputH && w >= 0 && w < g.InputW)
                        {
                            m = Math.Max(m, x[h * g.InputW + w]);
                            sum += x[h * g.InputW + w];
                            count++;
                        }
                    }
                }
                Assert.Equal(m, max[oh * g.OutputW + ow]);
                Assert.Equal(sum / (countIncludePad != 0 ? padded : count), avg[oh * g.OutputW + ow], 1e-5f);
            }
        }
    }

    private static void AssertEach(int n, Func<int, float> expected, float[] actual)
    {
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(expected(i), actual[i], 1e-6f);
        }
    }
}
