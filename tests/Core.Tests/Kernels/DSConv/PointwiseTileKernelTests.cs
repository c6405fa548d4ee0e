using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Native;
using DSConvService.Core.Kernels.Gemm;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// Where 512-bit VNNI is the layer's kernel, the 32-pixel tiles of a 1×1 layer run the AVX-512 int16 kernel
/// (<see cref="DSConvPath.PointwiseTilesOnInt16"/>): the choice itself, and the same floats bit for bit as the VNNI tiles.
/// </summary>
public class PointwiseTileKernelTests
{
    private const string NoVnni = "The Avx512Vnni kernel needs AVX512-VNNI and run-time code (Linux x64), which this machine lacks.";

    private static DSConvLayerSpec Spec(int kh, int kw, int weightBits = 4, int mantissaBits = 8) =>
        new(new DSConvFormat(32, weightBits, mantissaBits, 8, false), 48, kh, kw, 1);

    private static ConvShape Shape(int c, int hw, int o, int k, int n = 1) =>
        new(n, c, hw, hw, o, 1, k, k, 1, 1, k / 2, k / 2, 1, 1, hw, hw);

    [Fact]
    public void Only_Auto_Pointwise_Layers_With_Unsplit_Int16_Weights_Move_Off_Vnni()
    {
        Assert.True(DSConvPath.PointwiseTilesOnInt16(Spec(1, 1), DSConvIsa.Avx512Vnni, DSConvIsa.Auto));
        Assert.True(DSConvPath.PointwiseTilesOnInt16(Spec(1, 1, 7), DSConvIsa.Avx512Vnni, DSConvIsa.Auto));
        // 8-bit weights would need the int16 kernel's nibble split (other packed weights).
        Assert.False(DSConvPath.PointwiseTilesOnInt16(Spec(1, 1, 8), DSConvIsa.Avx512Vnni, DSConvIsa.Auto));
        Assert.False(DSConvPath.PointwiseTilesOnInt16(Spec(3, 3), DSConvIsa.Avx512Vnni, DSConvIsa.Auto));
        Assert.False(DSConvPath.PointwiseTilesOnInt16(Spec(1, 3), DSConvIsa.Avx512Vnni, DSConvIsa.Auto));
        // A kernel asked for by name is kept (tests and benchmarks of the VNNI tiles).
        Assert.False(DSConvPath.PointwiseTilesOnInt16(Spec(1, 1), DSConvIsa.Avx512Vnni, DSConvIsa.Avx512Vnni));
        Assert.False(DSConvPath.PointwiseTilesOnInt16(Spec(1, 1), DSConvIsa.AvxVnni, DSConvIsa.Auto));
    }

    [SkippableFact]
    public void The_Path_Of_A_Large_Map_Names_The_Int16_Kernel_And_Small_Maps_Keep_Vnni_Channel_Tiles()
    {
        Skip.IfNot(Avx512VnniKernel.Available, NoVnni);
        var caps = CpuCapabilities.Current;
        var pointwise = Spec(1, 1);
        Assert.Equal(DSConvIsa.Avx512Vnni, DSConvPath.Choose(pointwise, null, caps).Kernel);
        var large = DSConvPath.Choose(pointwise, Shape(48, 56, 96, 1), caps);
        Assert.Equal((DSConvPathKind.PixelVector, DSConvIsa.Avx512Int16), (large.Kind, large.Kernel));
        var small = DSConvPath.Choose(pointwise, Shape(48, 7, 96, 1), caps);
        Assert.Equal((DSConvPathKind.ChannelVector, DSConvIsa.Avx512Vnni), (small.Kind, small.Kernel));
        Assert.Equal(DSConvIsa.Avx512Vnni, DSConvPath.Choose(Spec(3, 3), Shape(48, 56, 96, 3), caps).Kernel);
    }

    public static TheoryData<int, int, int, int, int, int, bool> Layers() => new()
    {
        // n, c, hw, o, weight bits, activation (0 none, 1 Relu6, 2 SiLU), residual
        { 1, 16, 112, 96, 4, 1, false },
        { 2, 37, 19, 13, 4, 0, true },
        { 1, 144, 56, 24, 5, 0, true },
        { 3, 70, 33, 9, 7, 2, false },
        { 1, 24, 56, 144, 4, 2, false },
    };

    [SkippableTheory]
    [MemberData(nameof(Layers))]
    public void Auto_Gives_The_Same_Floats_As_The_Vnni_Tiles(int n, int c, int hw, int o, int weightBits, int activation, bool residual)
    {
        Skip.IfNot(Avx512VnniKernel.Available, NoVnni);
        var rng = new Random(n * 1000 + c * 10 + o);
        var format = new DSConvFormat(32, weightBits, 8, 8, false);
        var q = DSConvTestData.RandomQ(rng, o * c, weightBits);
        var kds = DSConvTestData.RandomFloats(rng, o * format.BlocksPerGroup(c), -0.1f, 0.1f);
        var bias = DSConvTestData.RandomFloats(rng, o, -1f, 1f);
        var weights = new DSConvWeights(o, c, 1, 1, format, q, kds, bias);
        var act = activation switch
        {
            0 => FusedActivation.None,
            1 => new FusedActivation(ActivationKind.Clip, 0f, 6f),
            _ => new FusedActivation(ActivationKind.Silu),
        };
        var shape = Shape(c, hw, o, 1, n);
        var x = DSConvTestData.Activations(rng, n * c * hw * hw, hw * hw);
        var res = residual ? DSConvTestData.RandomFloats(rng, n * o * hw * hw, -2f, 2f) : null;
        var auto = new DSConvEngine(weights, 1, act, DSConvIsa.Auto, residual) { ChannelVector = false };
        var vnni = new DSConvEngine(weights, 1, act, DSConvIsa.Avx512Vnni, residual) { ChannelVector = false };
        Assert.Equal(DSConvIsa.Avx512Int16, auto.Path(shape).Kernel);
        Assert.Equal(DSConvIsa.Avx512Vnni, vnni.Path(shape).Kernel);
        foreach (var threads in new[] { 1, 2 })
        {
            var expected = DSConvTestData.Run(vnni, shape, x, res, threads);
            var actual = DSConvTestData.Run(auto, shape, x, res, threads);
            Assert.Equal(expected, actual);
        }
    }
}
