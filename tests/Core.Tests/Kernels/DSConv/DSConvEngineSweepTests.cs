using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// Every kernel this machine supports, called directly, against the scalar spec conv(x̂, ŵ)
/// (relative error ≤ 1e-5) on odd shapes.
/// </summary>
public class DSConvEngineSweepTests
{
    private const double Tolerance = 1e-5;

    public sealed record Case(int N, int C, int H, int W, int O, int Groups, int KH, int KW, int Stride, int Pad, int Dilation,
        int Block, int WeightBits, int MantissaBits, int ExponentBits = 8)
    {
        public override string ToString() =>
            $"n{N} c{C} {H}x{W} o{O} g{Groups} k{KH}x{KW} s{Stride} p{Pad} d{Dilation} B{Block} w{WeightBits} m{MantissaBits} e{ExponentBits}";
    }

    public static readonly Case[] Cases =
    [
        new(1, 1, 5, 5, 4, 1, 3, 3, 1, 1, 1, 32, 4, 8),
        new(1, 3, 17, 19, 8, 1, 7, 7, 2, 3, 1, 32, 4, 8),
        new(1, 31, 6, 6, 5, 1, 3, 3, 1, 1, 1, 8, 4, 8),
        new(2, 33, 9, 7, 12, 1, 3, 3, 1, 1, 1, 16, 5, 8),
        new(1, 70, 8, 8, 9, 1, 1, 1, 1, 0, 1, 32, 4, 8),
        new(1, 64, 7, 7, 16, 1, 3, 3, 1, 1, 1, 64, 3, 8),
        new(1, 16, 10, 10, 8, 1, 3, 3, 1, 2, 2, 1, 2, 2),
        new(1, 32, 1, 1, 7, 1, 1, 1, 1, 0, 1, 32, 8, 8),
        new(1, 24, 2, 3, 6, 2, 3, 3, 1, 1, 1, 8, 6, 7),
        new(3, 40, 12, 12, 20, 4, 3, 3, 2, 1, 1, 16, 7, 5),
        new(1, 8, 16, 16, 8, 8, 3, 3, 1, 1, 1, 32, 4, 8),
        new(1, 64, 14, 14, 32, 1, 1, 1, 2, 0, 1, 32, 4, 8),
        new(2, 20, 5, 9, 6, 1, 1, 3, 1, 1, 1, 32, 4, 3),
        new(1, 48, 9, 9, 10, 1, 5, 5, 2, 2, 1, 32, 2, 4),
        new(1, 96, 11, 13, 13, 1, 3, 3, 1, 0, 3, 64, 4, 6, 4),
        new(1, 40, 6, 6, 8, 1, 3, 3, 1, 1, 1, 256, 4, 8),
        new(1, 64, 56, 56, 64, 1, 3, 3, 1, 1, 1, 32, 4, 8),
        new(1, 3, 64, 64, 16, 1, 7, 7, 2, 3, 1, 32, 8, 8),
        new(1, 40, 20, 18, 8, 1, 1, 1, 2, 0, 1, 32, 4, 8),
        new(2, 33, 21, 33, 5, 1, 1, 1, 2, 1, 1, 16, 4, 8),
        new(1, 16, 23, 35, 6, 1, 3, 3, 3, 1, 2, 16, 4, 8),
        // More than 48 K blocks: the AVX-512 engine cuts K into chunks (partial C tiles per panel).
        new(2, 200, 7, 7, 20, 1, 3, 3, 1, 1, 1, 32, 4, 8),
        new(1, 100, 9, 8, 9, 1, 3, 3, 2, 1, 1, 32, 5, 8),
        // 8-bit weights with 8-bit mantissas: int16 weights and vpmaddwd on AVX2 (Avx2WideKernel), nibbles on AVX-512.
        new(2, 37, 9, 11, 10, 1, 3, 3, 1, 1, 1, 32, 8, 8),
        new(1, 40, 12, 12, 20, 4, 3, 3, 2, 1, 1, 16, 8, 8),
        new(3, 70, 7, 9, 9, 1, 3, 3, 2, 1, 2, 64, 8, 8),
        new(1, 33, 8, 8, 7, 1, 1, 1, 1, 0, 1, 8, 8, 8),
        new(1, 64, 56, 56, 64, 1, 3, 3, 1, 1, 1, 32, 8, 8),
        new(2, 20, 5, 9, 6, 1, 1, 3, 1, 1, 1, 32, 8, 8),
        // 7- and 6-bit weights with 8-bit mantissas: one and two int16 steps (Avx2OneStepKernel).
        new(2, 37, 9, 11, 10, 1, 3, 3, 1, 1, 1, 32, 7, 8),
        new(1, 40, 12, 12, 20, 4, 3, 3, 2, 1, 1, 16, 7, 8),
        new(3, 70, 7, 9, 9, 1, 3, 3, 2, 1, 2, 64, 6, 8),
        new(1, 33, 8, 8, 7, 1, 1, 1, 1, 0, 1, 8, 7, 8),
        new(1, 64, 28, 28, 36, 1, 3, 3, 1, 1, 1, 32, 7, 8),
    ];

    public static TheoryData<int, DSConvIsa> CasesTimesKernels()
    {
        var data = new TheoryData<int, DSConvIsa>();
        for (var i = 0; i < Cases.Length; i++)
        {
            foreach (var isa in DSConvIsaSupport.Available)
            {
                data.Add(i, isa);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CasesTimesKernels))]
    public void Integer_Path_Matches_The_Simulated_Float_Conv(int caseIndex, DSConvIsa isa)
    {
        var k = Cases[caseIndex];
        var format = new DSConvFormat(k.Block, k.WeightBits, k.MantissaBits, k.ExponentBits, false);
        var engine = Engine(k, format, caseIndex, isa, out var shape, out var x);
        Assert.False(engine.UsesFloatPath);
        Assert.Equal(isa, engine.Isa);
        AssertMatchesReference(engine, shape, x, threads: 2);
    }

    [Fact]
    public void Auto_Runs_Tiny_Channel_Blocks_On_The_Float_Path_And_Matches()
    {
        var k = Cases[1];
        var engine = Engine(k, new DSConvFormat(k.Block, k.WeightBits, k.MantissaBits, 8, false), 1, DSConvIsa.Auto, out var shape, out var x);
        Assert.True(engine.UsesFloatPath);
        AssertMatchesReference(engine, shape, x, threads: 2);
    }

    [Fact]
    public void One_Thread_Gives_The_Same_Result_As_Two()
    {
        var k = Cases[3];
        var engine = Engine(k, new DSConvFormat(k.Block, k.WeightBits, k.MantissaBits, 8, false), 3, DSConvIsa.Auto, out var shape, out var x);
        var y1 = Run(engine, shape, x, 1);
        var y2 = Run(engine, shape, x, 2);
        Assert.Equal(y1, y2);
    }

    [Theory]
    [InlineData(8, 32, 4, 8, true)]
    [InlineData(4, 16, 4, 0, false)]
    [InlineData(1, 32, 3, 8, false)]
    [InlineData(2, 8, 4, 0, false)]
    public void Float_Path_Layers_Match_The_Reference(int groups, int block, int wbits, int mbits, bool depthwise)
    {
        var k = new Case(2, 8, 9, 9, depthwise ? 16 : 8, groups, 3, 3, 1, 1, 1, block, wbits, mbits);
        var format = new DSConvFormat(block, wbits, mbits, 8, depthwise);
        var engine = Engine(k, format, 99, DSConvIsa.Auto, out var shape, out var x, kdsBias: !depthwise && mbits > 0);
        Assert.True(engine.UsesFloatPath);
        AssertMatchesReference(engine, shape, x, threads: 2);
    }

    /// <summary>Depthwise layers (one input channel per group, so one value per activation block): x̂ is made plane by plane.</summary>
    [Theory]
    [InlineData(1, 16, 17, 17, 1, 3, 1, 1, 1, 8, 1)]
    [InlineData(2, 7, 9, 33, 2, 3, 2, 1, 1, 8, 2)]
    [InlineData(1, 5, 23, 6, 1, 5, 2, 2, 1, 6, 2)]
    [InlineData(2, 3, 1, 15, 1, 3, 1, 1, 1, 8, 1)]
    [InlineData(1, 9, 14, 14, 1, 3, 3, 0, 2, 4, 2)]
    [InlineData(3, 33, 7, 7, 1, 3, 1, 1, 1, 8, 2)]
    [InlineData(1, 4, 112, 112, 1, 3, 2, 1, 1, 8, 2)]
    [InlineData(1, 58, 28, 28, 1, 3, 1, 1, 1, 8, 2)]
    [InlineData(2, 40, 28, 28, 1, 5, 1, 2, 1, 8, 2)]
    [InlineData(1, 24, 14, 14, 1, 3, 2, 1, 1, 8, 1)]
    public void Depthwise_Layers_Match_The_Reference(int n, int c, int h, int w, int multiplier, int k, int stride, int pad, int dilation, int mbits, int threads)
    {
        var format = new DSConvFormat(32, 4, mbits, 5, true);
        var kase = new Case(n, c, h, w, c * multiplier, c, k, k, stride, pad, dilation, 32, 4, mbits, 5);
        var engine = Engine(kase, format, c + h, DSConvIsa.Auto, out var shape, out var x);
        Assert.True(engine.UsesFloatPath);
        // Zeros, a denormal, huge values (exponent clamped by the 5-bit width) and tiny ones take the scalar path.
        x[0] = 0f;
        x[1] = 1e-40f;
        x[x.Length / 2] = 3e5f;
        x[x.Length - 1] = -2e-9f;
        x[x.Length / 3] = -0f;
        AssertMatchesReference(engine, shape, x, threads);
    }

    [Theory]
    [InlineData(4, -8)]
    [InlineData(4, 7)]
    [InlineData(8, -128)]
    [InlineData(8, 127)]
    [InlineData(3, -4)]
    [InlineData(7, -64)]
    [InlineData(7, 63)]
    [InlineData(6, -32)]
    public void Extreme_Values_Stay_Exact_On_Every_Kernel(int bits, int qValue)
    {
        // m = 127 (u = 255) or m = -128 (u = 0) against the extreme weight in every position: with 4-bit
        // weights each int16 lane reaches -32640 after 8 steps; 8-bit weights exercise the nibble split (AVX-512)
        // and the int16 weights of Avx2WideKernel.
        const int c = 64, o = 8;
        var shape = new ConvShape(1, c, 4, 4, o, 1, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4);
        foreach (var mantissaSign in new[] { 1f, -1f })
        {
            var x = Enumerable.Repeat(1.9999f * mantissaSign, c * 16).ToArray();
            foreach (var isa in DSConvIsaSupport.Available)
            {
                var q = Enumerable.Repeat((sbyte)qValue, o * c * 9).ToArray();
                var kds = Enumerable.Repeat(0.03125f, o * 2 * 9).ToArray();
                var weights = new DSConvWeights(o, c, 3, 3, new DSConvFormat(32, bits, 8, 8, false), q, kds);
                var engine = new DSConvEngine(weights, 1, FusedActivation.None, isa, keepWeights: true);
                var y = Run(engine, shape, x, 2);
                var expected = DSConvReference.Run(x, shape, weights, FusedActivation.None);
                Assert.True(RandomTensors.RelativeDiff(Tensor.FromFloats([y.Length], y), Tensor.FromFloats([y.Length], expected)) <= Tolerance, $"{isa}");
            }
        }
    }

    [Theory]
    [InlineData(8, 8, true)]
    [InlineData(8, 7, false)]
    [InlineData(7, 8, false)]
    [InlineData(4, 8, false)]
    public void Avx2_Packs_Int16_Weights_Only_Where_No_Int16_Step_Fits(int bits, int mantissaBits, bool wide)
    {
        Assert.Equal(wide, DSConvIsaSupport.UsesWideWeights(DSConvIsa.Avx2, bits, mantissaBits));
        Assert.False(DSConvIsaSupport.NeedsNibbleSplit(DSConvIsa.Avx2, bits, mantissaBits));
        Assert.Equal(wide, DSConvIsaSupport.NeedsNibbleSplit(DSConvIsa.Avx512Int16, bits, mantissaBits));
        Assert.False(DSConvIsaSupport.UsesWideWeights(DSConvIsa.Avx512Int16, bits, mantissaBits));
    }

    [Fact]
    public void All_Zero_Blocks_And_Zero_Input_Give_The_Bias()
    {
        var k = Cases[4];
        var engine = Engine(k, new DSConvFormat(k.Block, k.WeightBits, k.MantissaBits, 8, false), 4, DSConvIsa.Auto, out var shape, out var x);
        Array.Clear(x);
        var y = Run(engine, shape, x, 2);
        for (var o = 0; o < shape.O; o++)
        {
            for (var p = 0; p < shape.OutPixels; p++)
            {
                Assert.Equal(engine.Activation.Apply(engine.Weights.Bias![o]), y[o * shape.OutPixels + p]);
            }
        }
    }

    /// <summary>
    /// Batches whose packed input exceeds L2 run image by image (with the packer prefetching past 8 MiB of input): the
    /// same floats as each image alone, on every kernel, and the reference's numbers.
    /// </summary>
    [Theory]
    [InlineData(3, 64, 70, 70, 40, 1, 1, 0)]
    [InlineData(2, 96, 48, 47, 24, 1, 1, 0)]
    [InlineData(2, 48, 60, 60, 33, 3, 2, 1)]
    [InlineData(3, 300, 80, 80, 8, 1, 1, 0)]
    public void Large_Batches_Equal_Their_Images_Run_Alone(int n, int c, int h, int w, int o, int k, int stride, int pad)
    {
        foreach (var isa in DSConvIsaSupport.Available)
        {
            var kase = new Case(n, c, h, w, o, 1, k, k, stride, pad, 1, 32, 4, 8);
            var engine = Engine(kase, new DSConvFormat(32, 4, 8, 8, false), c + o, isa, out var shape, out var x);
            var y = Run(engine, shape, x, threads: 2);
            var one = shape with { N = 1 };
            var perImage = one.C * one.InPixels;
            var outImage = one.O * one.OutPixels;
            for (var i = 0; i < n; i++)
            {
                var yi = Run(engine, one, x.AsSpan(i * perImage, perImage).ToArray(), threads: 2);
                Assert.True(yi.AsSpan().SequenceEqual(y.AsSpan(i * outImage, outImage)), $"{isa}: image {i} differs from its batch run");
            }
            if (isa == DSConvIsa.Scalar)
            {
                continue;
            }
            var expected = DSConvReference.Run(x, shape, engine.Weights, engine.Activation);
            var diff = RandomTensors.RelativeDiff(Tensor.FromFloats([y.Length], y), Tensor.FromFloats([y.Length], expected));
            Assert.True(diff <= Tolerance, $"{isa}: relative error {diff:E2}");
        }
    }

    private static void AssertMatchesReference(DSConvEngine engine, ConvShape shape, float[] x, int threads)
    {
        var y = Run(engine, shape, x, threads);
        var expected = DSConvReference.Run(x, shape, engine.Weights, engine.Activation);
        var diff = RandomTensors.RelativeDiff(Tensor.FromFloats([y.Length], y), Tensor.FromFloats([y.Length], expected));
        Assert.True(diff <= Tolerance, $"relative error {diff:E2}");
    }

    internal static float[] Run(DSConvEngine engine, ConvShape shape, float[] x, int threads)
    {
        var y = new float[shape.N * shape.O * shape.OutPixels];
        // Scratch starts dirty: the engine must not depend on its content.
        var scratch = new float[engine.ScratchFloats(shape)];
        scratch.AsSpan().Fill(float.NaN);
        engine.Run(x, shape, y, scratch, threads);
        return y;
    }

    private static DSConvEngine Engine(Case k, DSConvFormat format, int seed, DSConvIsa isa, out ConvShape shape, out float[] x, bool kdsBias = false)
    {
        var rng = new Random(seed * 7919 + 1);
        var cg = k.C / k.Groups;
        var oh = (k.H + 2 * k.Pad - ((k.KH - 1) * k.Dilation + 1)) / k.Stride + 1;
        var ow = (k.W + 2 * k.Pad - ((k.KW - 1) * k.Dilation + 1)) / k.Stride + 1;
        shape = new ConvShape(k.N, k.C, k.H, k.W, k.O, k.Groups, k.KH, k.KW, k.Stride, k.Stride, k.Pad, k.Pad, k.Dilation, k.Dilation, oh, ow);
        var q = DSConvTestData.RandomQ(rng, k.O * cg * k.KH * k.KW, k.WeightBits);
        var kdsLength = format.Depthwise ? k.O : k.O * format.BlocksPerGroup(cg) * k.KH * k.KW;
        var kds = DSConvTestData.RandomFloats(rng, kdsLength, -0.1f, 0.1f);
        var bias = DSConvTestData.RandomFloats(rng, k.O, -1f, 1f);
        var beta = kdsBias ? DSConvTestData.RandomFloats(rng, kdsLength, -0.01f, 0.01f) : null;
        var weights = new DSConvWeights(k.O, cg, k.KH, k.KW, format, q, kds, bias, beta);
        x = DSConvTestData.Activations(rng, k.N * k.C * k.H * k.W, k.H * k.W);
        var act = seed % 2 == 0 ? new FusedActivation(ActivationKind.Relu, 0, 0, 0) : new FusedActivation(ActivationKind.LeakyRelu, 0, 0, 0.1f);
        return new DSConvEngine(weights, k.Groups, act, isa, keepWeights: true);
    }
}
