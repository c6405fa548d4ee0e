using DSConvService.Core.Kernels.Gemm;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// The channel-vector GEMM (<see cref="ChannelVectorPath"/>, forced on) against the scalar spec conv(x̂, ŵ)
/// (relative error ≤ 1e-5), with residual and fused activations, on odd shapes; and the engine's choice of it.
/// </summary>
public class ChannelVectorPathTests
{
    private const double Tolerance = 1e-5;
    private const string NoAvx512 = "The channel-vector path needs AVX-512BW, which this machine lacks.";
    private const string NoVnni = "The Avx512Vnni kernel needs AVX512-VNNI and run-time code (Linux x64), which this machine lacks.";

    public sealed record Case(int N, int C, int H, int W, int O, int Groups, int KH, int KW, int Stride, int Pad, int Dilation,
        int Block, int WeightBits, int MantissaBits, int ExponentBits = 8)
    {
        public override string ToString() =>
            $"n{N} c{C} {H}x{W} o{O} g{Groups} k{KH}x{KW} s{Stride} p{Pad} d{Dilation} B{Block} w{WeightBits} m{MantissaBits} e{ExponentBits}";
    }

    public static readonly Case[] Cases =
    [
        new(1, 64, 7, 7, 5, 1, 3, 3, 1, 1, 1, 32, 4, 8),
        new(1, 70, 7, 7, 33, 1, 3, 3, 1, 1, 1, 32, 4, 8),
        new(3, 40, 7, 7, 70, 1, 1, 1, 1, 0, 1, 16, 4, 8),
        new(1, 31, 2, 3, 9, 1, 3, 3, 1, 1, 1, 8, 4, 8),
        new(3, 33, 2, 3, 40, 1, 3, 3, 1, 1, 1, 16, 4, 8),
        new(1, 64, 1, 1, 12, 1, 3, 3, 1, 1, 1, 64, 3, 8),
        new(1, 130, 5, 5, 33, 1, 3, 3, 1, 1, 1, 64, 4, 8),
        new(2, 48, 14, 14, 40, 1, 3, 3, 2, 1, 1, 16, 4, 8),
        new(1, 100, 9, 8, 9, 1, 3, 3, 2, 1, 1, 32, 5, 8),
        new(1, 40, 14, 14, 35, 1, 1, 1, 2, 0, 1, 32, 4, 8),
        new(1, 24, 9, 9, 8, 2, 3, 3, 1, 2, 2, 8, 5, 7),
        new(3, 40, 6, 6, 20, 4, 3, 3, 2, 1, 1, 16, 7, 5),
        new(2, 16, 1, 1, 8, 2, 1, 1, 1, 0, 1, 8, 4, 8),
        new(1, 32, 7, 7, 16, 1, 7, 7, 1, 3, 1, 32, 4, 8),
        new(1, 64, 7, 7, 24, 1, 3, 3, 1, 1, 1, 32, 8, 8),
        new(3, 36, 7, 7, 34, 1, 3, 3, 1, 1, 1, 32, 8, 8),
        new(1, 16, 10, 10, 8, 1, 3, 3, 1, 2, 2, 1, 2, 2),
        new(2, 96, 11, 13, 13, 1, 3, 3, 1, 0, 3, 64, 4, 6, 4),
    ];

    /// <summary>Both 512-bit kernels have the path: int16 accumulation and the run-time VNNI code.</summary>
    public static readonly DSConvIsa[] Kernels = [DSConvIsa.Avx512Int16, DSConvIsa.Avx512Vnni];

    public static TheoryData<int, DSConvIsa> CaseIndices()
    {
        var data = new TheoryData<int, DSConvIsa>();
        for (var i = 0; i < Cases.Length; i++)
        {
            foreach (var isa in Kernels)
            {
                data.Add(i, isa);
            }
        }
        return data;
    }

    public static TheoryData<DSConvIsa> KernelData() => new(Kernels);

    [SkippableTheory]
    [MemberData(nameof(CaseIndices))]
    public void Channel_Vector_Path_Matches_The_Simulated_Float_Conv(int caseIndex, DSConvIsa isa)
    {
        Skip.IfNot(DSConvIsaSupport.IsSupported(isa), isa == DSConvIsa.Avx512Int16 ? NoAvx512 : NoVnni);
        var k = Cases[caseIndex];
        foreach (var (act, residual) in new[]
        {
            (new FusedActivation(ActivationKind.Relu, 0, 0, 0), true),
            (new FusedActivation(ActivationKind.None, 0, 0, 0), false),
            (new FusedActivation(ActivationKind.Clip, -0.5f, 1.5f, 0), true),
            (new FusedActivation(ActivationKind.LeakyRelu, 0, 0, 0.1f), false),
        })
        {
            var engine = Engine(k, caseIndex, act, residual, channelVector: true, out var shape, out var x, out var res, isa);
            Assert.True(engine.UsesChannelVectorPath(shape));
            var y1 = DSConvTestData.Run(engine, shape, x, res, threads: 1);
            var y2 = DSConvTestData.Run(engine, shape, x, res, threads: 2);
            // Every output comes from one kernel call, whatever the split over workers.
            Assert.Equal(y1, y2);
            var (expected, scale) = Reference(engine, shape, x, res);
            var diff = MaxAbsDiff(y2, expected) / scale;
            Assert.True(diff <= Tolerance, $"{act.Kind}, residual {residual}: relative error {diff:E2}");

            // The pixel-vector path computes the same sums with the same float operations per block (today the
            // outputs are bit-identical; the bound leaves room for a different split of K on either path).
            var pixel = Engine(k, caseIndex, act, residual, channelVector: false, out _, out _, out _, isa);
            Assert.False(pixel.UsesChannelVectorPath(shape));
            var yp = DSConvTestData.Run(pixel, shape, x, res, threads: 2);
            var cross = RandomTensors.RelativeDiff(Tensor.FromFloats([y2.Length], y2), Tensor.FromFloats([y2.Length], yp));
            Assert.True(cross <= 1e-6, $"{act.Kind}, residual {residual}: channel vs pixel path relative difference {cross:E2}");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(KernelData))]
    public void Extreme_Values_Stay_Exact(DSConvIsa isa)
    {
        Skip.IfNot(DSConvIsaSupport.IsSupported(isa), isa == DSConvIsa.Avx512Int16 ? NoAvx512 : NoVnni);
        // u = 255 or 0 against the extreme weight everywhere: int16 lanes reach ±32640 after 8 steps (4-bit),
        // 8-bit weights go through the nibble split.
        const int c = 64, o = 40;
        var shape = new ConvShape(1, c, 3, 3, o, 1, 3, 3, 1, 1, 1, 1, 1, 1, 3, 3);
        foreach (var (bits, qValue) in new[] { (4, -8), (4, 7), (8, -128), (8, 127), (3, -4) })
        {
            foreach (var sign in new[] { 1f, -1f })
            {
                var x = Enumerable.Repeat(1.9999f * sign, c * 9).ToArray();
                var q = Enumerable.Repeat((sbyte)qValue, o * c * 9).ToArray();
                var kds = Enumerable.Repeat(0.03125f, o * 2 * 9).ToArray();
                var weights = new DSConvWeights(o, c, 3, 3, new DSConvFormat(32, bits, 8, 8, false), q, kds);
                var engine = new DSConvEngine(weights, 1, FusedActivation.None, isa, keepWeights: true) { ChannelVector = true };
                Assert.True(engine.UsesChannelVectorPath(shape));
                var y = DSConvTestData.Run(engine, shape, x, null, 2);
                var expected = DSConvReference.Run(x, shape, weights, FusedActivation.None);
                var diff = RandomTensors.RelativeDiff(Tensor.FromFloats([y.Length], y), Tensor.FromFloats([y.Length], expected));
                Assert.True(diff <= Tolerance, $"{bits}-bit q={qValue} sign {sign}: relative error {diff:E2}");
            }
        }
    }

    [SkippableTheory]
    [InlineData(512, 7, 1, 1, true)]
    [InlineData(512, 7, 1, 4, true)]
    [InlineData(256, 14, 2, 1, true)]
    [InlineData(256, 14, 1, 1, true)]
    [InlineData(128, 28, 1, 1, true)]
    [InlineData(64, 56, 2, 1, true)]
    [InlineData(32, 7, 1, 1, true)]
    [InlineData(16, 28, 1, 1, false)]
    [InlineData(16, 7, 1, 1, false)]
    [InlineData(64, 56, 1, 1, false)]
    public void Engine_Picks_The_Channel_Path_Only_For_Small_Maps(int c, int hw, int stride, int batch, bool expected)
    {
        Skip.IfNot(Avx512BW.IsSupported, NoAvx512);
        var o = stride == 2 ? 2 * c : c;
        var weights = new DSConvWeights(o, c, 3, 3, new DSConvFormat(32, 4, 8, 8, false), new sbyte[o * c * 9], new float[o * ((c + 31) / 32) * 9]);
        var oh = (hw + 2 - 3) / stride + 1;
        var shape = new ConvShape(batch, c, hw, hw, o, 1, 3, 3, stride, stride, 1, 1, 1, 1, oh, oh);
        Assert.Equal(expected, new DSConvEngine(weights, 1, FusedActivation.None, DSConvIsa.Avx512Int16).UsesChannelVectorPath(shape));
        Assert.False(new DSConvEngine(weights, 1, FusedActivation.None, DSConvIsa.Avx512Int16) { ChannelVector = false }.UsesChannelVectorPath(shape));
        Assert.True(new DSConvEngine(weights, 1, FusedActivation.None, DSConvIsa.Avx512Int16) { ChannelVector = true }.UsesChannelVectorPath(shape));
        // Other kernels have no channel-vector path, even when asked.
        Assert.False(new DSConvEngine(weights, 1, FusedActivation.None, DSConvIsa.Scalar) { ChannelVector = true }.UsesChannelVectorPath(shape));
    }

    /// <summary>
    /// act(conv(x̂, ŵ) + bias + residual) with the scalar spec, and the largest |value| before the activation:
    /// errors are measured against it, since a Clip to a small range would otherwise shrink the denominator
    /// of a relative error while the activation (1-Lipschitz) cannot shrink the error itself.
    /// </summary>
    private static (float[] Y, double Scale) Reference(DSConvEngine engine, ConvShape shape, float[] x, float[]? residual)
    {
        var y = DSConvReference.Run(x, shape, engine.Weights, FusedActivation.None);
        double scale = 0;
        for (var i = 0; i < y.Length; i++)
        {
            var v = y[i] + (residual?[i] ?? 0f);
            scale = Math.Max(scale, Math.Abs(v));
            y[i] = engine.Activation.Apply(v);
        }
        return (y, Math.Max(scale, 1e-30));
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        double d = 0;
        for (var i = 0; i < a.Length; i++)
        {
            d = Math.Max(d, Math.Abs((double)a[i] - b[i]));
        }
        return d;
    }

    private static DSConvEngine Engine(Case k, int seed, FusedActivation act, bool residual, bool channelVector,
        out ConvShape shape, out float[] x, out float[]? res, DSConvIsa isa = DSConvIsa.Avx512Int16)
    {
        var rng = new Random(seed * 7919 + 3);
        var format = new DSConvFormat(k.Block, k.WeightBits, k.MantissaBits, k.ExponentBits, false);
        var cg = k.C / k.Groups;
        var oh = (k.H + 2 * k.Pad - ((k.KH - 1) * k.Dilation + 1)) / k.Stride + 1;
        var ow = (k.W + 2 * k.Pad - ((k.KW - 1) * k.Dilation + 1)) / k.Stride + 1;
        shape = new ConvShape(k.N, k.C, k.H, k.W, k.O, k.Groups, k.KH, k.KW, k.Stride, k.Stride, k.Pad, k.Pad, k.Dilation, k.Dilation, oh, ow);
        var q = DSConvTestData.RandomQ(rng, k.O * cg * k.KH * k.KW, k.WeightBits);
        var kds = DSConvTestData.RandomFloats(rng, k.O * format.BlocksPerGroup(cg) * k.KH * k.KW, -0.1f, 0.1f);
        var bias = DSConvTestData.RandomFloats(rng, k.O, -1f, 1f);
        var weights = new DSConvWeights(k.O, cg, k.KH, k.KW, format, q, kds, bias);
        x = DSConvTestData.Activations(rng, k.N * k.C * k.H * k.W, k.H * k.W);
        res = residual ? DSConvTestData.RandomFloats(rng, k.N * k.O * oh * ow, -2f, 2f) : null;
        return new DSConvEngine(weights, k.Groups, act, isa, residual, keepWeights: true) { ChannelVector = channelVector };
    }
}
