using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// The small-batch fully connected path (<see cref="DenseRowKernel"/>) on every kernel this machine supports
/// against the scalar spec conv(x̂, ŵ): K not a multiple of the block, batch 1..5, odd Nout, 2..8 bits.
/// </summary>
public class DenseRowPathTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<int, int, int, int, int, DSConvIsa> Sweep()
    {
        var data = new TheoryData<int, int, int, int, int, DSConvIsa>();
        (int K, int Nout, int Block)[] shapes = [(70, 9, 32), (1600, 33, 32), (45, 7, 16), (200, 5, 64), (13, 3, 8), (100, 11, 256)];
        var i = 0;
        foreach (var (k, nout, block) in shapes)
        {
            for (var bits = 2; bits <= 8; bits += 3)
            {
                foreach (var isa in DSConvIsaSupport.Available)
                {
                    data.Add(k, nout, block, bits, 1 + i % 5, isa);
                    i++;
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Sweep))]
    public void Dense_Path_Matches_The_Simulated_Float_Gemm(int k, int nout, int block, int bits, int batch, DSConvIsa isa)
    {
        foreach (var mantissaBits in new[] { 4, 8 })
        {
            var rng = new Random(k * 31 + nout * 7 + bits + batch + mantissaBits);
            var format = new DSConvFormat(block, bits, mantissaBits, 8, false);
            var q = DSConvTestData.RandomQ(rng, nout * k, bits);
            var kds = DSConvTestData.RandomFloats(rng, nout * format.BlocksPerGroup(k), -0.1f, 0.1f);
            var bias = DSConvTestData.RandomFloats(rng, nout, -1f, 1f);
            var weights = new DSConvWeights(nout, k, 1, 1, format, q, kds, bias);
            var act = batch % 2 == 0 ? new FusedActivation(ActivationKind.Relu, 0, 0, 0) : FusedActivation.None;
            var engine = new DSConvEngine(weights, 1, act, isa);
            var shape = ConvShape.Dense(batch, k, nout);
            Assert.True(engine.UsesDensePath(shape));
            var x = Rows(rng, batch, k, block);
            foreach (var threads in new[] { 1, 2 })
            {
                var y = DSConvEngineSweepTests.Run(engine, shape, x, threads);
                var expected = DSConvReference.Run(x, shape, weights, act);
                var diff = RandomTensors.RelativeDiff(Tensor.FromFloats([y.Length], y), Tensor.FromFloats([y.Length], expected));
                Assert.True(diff <= Tolerance, $"M={mantissaBits} threads={threads}: relative error {diff:E2}");
            }
        }
    }

    [Fact]
    public void Large_Layers_Split_Over_Threads_Give_The_Same_Result()
    {
        var rng = new Random(5);
        const int k = 1600, nout = 257, batch = 3;
        var format = new DSConvFormat(32, 4, 8, 8, false);
        var weights = new DSConvWeights(nout, k, 1, 1, format, DSConvTestData.RandomQ(rng, nout * k, 4),
            DSConvTestData.RandomFloats(rng, nout * 50, -0.1f, 0.1f), DSConvTestData.RandomFloats(rng, nout, -1f, 1f));
        var engine = new DSConvEngine(weights, 1, FusedActivation.None);
        var shape = ConvShape.Dense(batch, k, nout);
        var x = Rows(rng, batch, k, 32);
        var y1 = DSConvEngineSweepTests.Run(engine, shape, x, 1);
        var y2 = DSConvEngineSweepTests.Run(engine, shape, x, 2);
        Assert.Equal(y1, y2);
        var expected = DSConvReference.Run(x, shape, weights, FusedActivation.None);
        Assert.True(RandomTensors.RelativeDiff(Tensor.FromFloats([y2.Length], y2), Tensor.FromFloats([y2.Length], expected)) <= Tolerance);
    }

    [Fact]
    public void Extreme_Mantissas_And_Weights_Stay_Exact()
    {
        const int k = 96, nout = 5;
        var format = new DSConvFormat(32, 8, 8, 8, false);
        foreach (var qValue in new sbyte[] { -128, 127 })
        {
            foreach (var sign in new[] { 1f, -1f })
            {
                var weights = new DSConvWeights(nout, k, 1, 1, format, Enumerable.Repeat(qValue, nout * k).ToArray(),
                    Enumerable.Repeat(0.03125f, nout * 3).ToArray());
                var shape = ConvShape.Dense(2, k, nout);
                var x = Enumerable.Repeat(1.9999f * sign, 2 * k).ToArray();
                foreach (var isa in DSConvIsaSupport.Available)
                {
                    var engine = new DSConvEngine(weights, 1, FusedActivation.None, isa);
                    var y = DSConvEngineSweepTests.Run(engine, shape, x, 1);
                    var expected = DSConvReference.Run(x, shape, weights, FusedActivation.None);
                    Assert.True(RandomTensors.RelativeDiff(Tensor.FromFloats([y.Length], y), Tensor.FromFloats([y.Length], expected)) <= Tolerance, $"{isa}");
                }
            }
        }
    }

    /// <summary>Rows with a wide dynamic range along K, ReLU-like zeros, outliers and one all-zero block.</summary>
    private static float[] Rows(Random rng, int batch, int k, int block)
    {
        var x = DSConvTestData.RandomFloats(rng, batch * k, -1f, 1f);
        for (var i = 0; i < x.Length; i++)
        {
            x[i] *= MathF.Pow(2f, i % 7 - 3);
            x[i] = rng.Next(4) == 0 ? 0f : rng.Next(200) == 0 ? x[i] * 64f : x[i];
        }
        if (batch > 1 || k > block)
        {
            Array.Clear(x, 0, Math.Min(block, k));
        }
        Assert.Contains(x, v => v != 0f);
        return x;
    }
}
