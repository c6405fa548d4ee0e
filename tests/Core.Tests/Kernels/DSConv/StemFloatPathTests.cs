using DSConvService.Core.Kernels.Gemm;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// The RGB stem on the float path (<see cref="DSConvIsa.Auto"/>): x̂ simulated over pixel ranges on every thread,
/// then the direct few-channel convolution, against the scalar DSConv reference.
/// </summary>
public unsafe class StemFloatPathTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData(1, 224, 1, 8)]
    [InlineData(1, 224, 2, 8)]
    [InlineData(2, 160, 2, 8)]
    [InlineData(3, 37, 2, 8)]
    [InlineData(2, 29, 2, 5)]
    [InlineData(2, 30, 2, 0)]
    public void Stem_Matches_The_DSConv_Reference(int batch, int size, int threads, int mantissaBits)
    {
        var engine = Stem(batch, size, out var shape, out var x, mantissaBits);
        Assert.True(engine.UsesFloatPath);
        var y = new float[shape.N * shape.O * shape.OutPixels];
        // Dirty scratch with a guard after the declared size, which must stay untouched.
        var size0 = engine.ScratchFloats(shape);
        var scratch = new float[size0 + 256];
        scratch.AsSpan().Fill(float.NaN);
        engine.Run(x, shape, y, scratch, threads);
        Assert.All(scratch[(int)size0..], v => Assert.True(float.IsNaN(v), "wrote past ScratchFloats"));
        var expected = DSConvReference.Run(x, shape, engine.Weights, engine.Activation);
        var diff = RandomTensors.RelativeDiff(Tensor.FromFloats([y.Length], y), Tensor.FromFloats([y.Length], expected));
        Assert.True(diff <= Tolerance, $"relative error {diff:E2}");
    }

    [Fact]
    public void Stem_Gives_The_Same_Bits_On_One_And_Two_Threads()
    {
        var engine = Stem(1, 224, out var shape, out var x);
        Assert.Equal(DSConvEngineSweepTests.Run(engine, shape, x, 1), DSConvEngineSweepTests.Run(engine, shape, x, 2));
    }

    [Theory]
    [InlineData(3, 224 * 224, 4096)]
    [InlineData(4, 1000, 17)]
    [InlineData(2, 40, 5)]
    [InlineData(32, 100, 16)]
    public void Simulated_Pixel_Ranges_Equal_The_Whole_Block(int channels, int hw, int range)
    {
        var rng = new Random(channels + hw);
        var x = DSConvTestData.Activations(rng, channels * hw, hw);
        x[3] = 1e-41f;
        x[hw - 1] = float.Epsilon;
        var f = new DSConvFormat(32, 4, 8, 8, false);
        var whole = new float[x.Length];
        var ranges = new float[x.Length];
        fixed (float* px = x, pw = whole, pr = ranges)
        {
            BfpSimulator.SimulateBlock(px, pw, channels, hw, f);
            for (var p = 0; p < hw; p += range)
            {
                BfpSimulator.SimulatePixels(px, pr, channels, hw, p, Math.Min(hw, p + range), f);
            }
        }
        Assert.Equal(whole, ranges);
        Assert.Equal(BfpReferenceSimulate(x, channels, hw, f), whole);
    }

    [Fact]
    public void Stem_Uses_The_Direct_Kernel_Exactly_When_Avx512_Or_Avx2_Is_There()
    {
        var engine = Stem(1, 32, out _, out _);
        var w = engine.Weights;
        var path = new FloatConvPath(w, w.Effective(), 1, engine.Activation);
        Assert.Equal(Avx512F.IsSupported || Avx2.IsSupported && Fma.IsSupported, path.Direct);
    }

    private static float[] BfpReferenceSimulate(float[] x, int channels, int hw, DSConvFormat f)
    {
        var shape = new ConvShape(1, channels, 1, hw, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, hw);
        return DSConvReference.SimulateInput(x, shape, f);
    }

    private static DSConvEngine Stem(int batch, int size, out ConvShape shape, out float[] x, int mantissaBits = 8)
    {
        var rng = new Random(size * 13 + batch);
        var oh = (size + 6 - 7) / 2 + 1;
        shape = new ConvShape(batch, 3, size, size, 64, 1, 7, 7, 2, 2, 3, 3, 1, 1, oh, oh);
        var format = new DSConvFormat(32, 4, mantissaBits, 8, false);
        var q = DSConvTestData.RandomQ(rng, 64 * 3 * 49, 4);
        var kds = DSConvTestData.RandomFloats(rng, 64 * 49, -0.1f, 0.1f);
        var bias = DSConvTestData.RandomFloats(rng, 64, -1f, 1f);
        x = DSConvTestData.Activations(rng, batch * 3 * size * size, size * size);
        var weights = new DSConvWeights(64, 3, 7, 7, format, q, kds, bias);
        return new DSConvEngine(weights, 1, new FusedActivation(ActivationKind.Relu, 0, 0, 0), DSConvIsa.Auto, keepWeights: true);
    }
}
