using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels;

/// <summary>The direct few-channel convolution against a scalar reference conv (double sums, relative error ≤ 1e-5 up to 256 taps).</summary>
public sealed unsafe class FewChannelConvTests
{
    private const double Tolerance = 1e-5;
    private const int Guard = 256;

    /// <summary>Input [N,C,H,W], weight [O,C,KH,KW], pads top/left/bottom/right.</summary>
    public sealed record Case(string Name, int N, int C, int H, int W, int O, int KH, int KW, int SH, int SW, int DH, int DW,
        int PadT, int PadL, int PadB, int PadR)
    {
        public int OH => (H + PadT + PadB - ((KH - 1) * DH + 1)) / SH + 1;
        public int OW => (W + PadL + PadR - ((KW - 1) * DW + 1)) / SW + 1;
        public ConvGeometry Geometry => new(C, H, W, KH, KW, SH, SW, DH, DW, PadT, PadL, OH, OW);
        public override string ToString() => Name;
    }

    public static readonly Case[] Cases =
    [
        new("stem 7x7/2 pad 3, c3 o64, 112 wide", 1, 3, 224, 224, 64, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3),
        new("7x7/2 pad 3, c3 o13, batch 3, 23 wide", 3, 3, 17, 45, 13, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3),
        // A padded image of at least 2^16 floats: the batch runs image by image.
        new("3x3/2 pad 1, c3 o19, batch 3, image by image", 3, 3, 150, 150, 19, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),
        new("wide rows 3x3/1 pad 1, c32 o8, batch 2, image by image", 2, 32, 46, 46, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new("3x3/1 pad 1, c1 o5, 7 wide", 1, 1, 9, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new("3x3/1 pad 1, c2 o64, batch 3, 112 wide", 3, 2, 5, 112, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new("5x5/2 no pad, c4 o13", 1, 4, 21, 33, 13, 5, 5, 2, 2, 1, 1, 0, 0, 0, 0),
        new("5x5/2 pad 2, c3 o8, 48 wide", 2, 3, 11, 96, 8, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2),
        new("1x3 pad 0/1, c2 o5", 1, 2, 6, 23, 5, 1, 3, 1, 1, 1, 1, 0, 1, 0, 1),
        new("3x1 stride 1x2, c1 o9", 1, 1, 10, 40, 9, 3, 1, 1, 2, 1, 1, 1, 0, 1, 0),
        new("dilation 2 pad 2, c3 o13", 1, 3, 12, 30, 13, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2),
        new("dilation 2 stride 2, c4 o5, 17 wide", 3, 4, 13, 35, 5, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2),
        new("asymmetric pads 3/2/1/4, c3 o64", 1, 3, 15, 39, 64, 7, 7, 2, 2, 1, 1, 3, 2, 1, 4),
        new("stride 3 pad 0/2, c2 o8", 1, 2, 14, 50, 8, 3, 3, 3, 3, 1, 1, 0, 2, 1, 0),
        new("1x1 stride 2 (single phase used), c3 o13", 2, 3, 9, 66, 13, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0),
        new("16x16 taps = 256, c1 o5", 1, 1, 20, 40, 5, 16, 16, 1, 1, 1, 1, 0, 0, 0, 0),
        new("input narrower than the kernel, c3 o8", 1, 3, 4, 3, 8, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3),
        // Wide rows of 16-64 channels (AVX-512F only, see FewChannelConv.AppliesToWideRows).
        new("wide rows 3x3/1 pad 1, c16 o16, 28 wide", 1, 16, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new("wide rows 3x3/2 pad 1, c17 o13, batch 2, 14 wide", 2, 17, 27, 27, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),
        new("wide rows 3x3/1 pad 1, c64 o64, 56 wide", 1, 64, 9, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new("wide rows 5x5 dilation 2 pad 4, c33 o9, 10 wide", 1, 33, 12, 10, 9, 5, 5, 1, 1, 2, 2, 4, 4, 4, 4),
        // Rows of at most 16 pixels, two to a tile: an odd row count, stride 2, a partial channel block.
        new("row pairs 3x3/1 pad 1, c64 o20, 13x13, batch 2", 2, 64, 13, 13, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new("row pairs 3x3/2 pad 1, c40 o9, 11 rows of 12", 1, 40, 22, 24, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),
        // 65-128 channels where output rows are at least 28 wide.
        new("wide map 3x3/1 pad 1, c128 o20, 28 wide, batch 2", 2, 128, 5, 28, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new("wide map 3x3/2 pad 1, c97 o9, 30 wide", 1, 97, 7, 60, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),
        // Narrow rows at stride 1 run flat (AVX-512): 16-pixel tiles over the rows laid end to end.
        new("flat 3x3/1 pad 1, c64 o64, 7x7, batch 2", 2, 64, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
        new("flat 5x5 dilation 2 pad 3, c9 o11, 8 wide", 1, 9, 11, 8, 11, 5, 5, 1, 1, 2, 2, 3, 3, 3, 3),
        new("flat 3x1 no pad, c6 o17, 5 wide, batch 3", 3, 6, 6, 5, 17, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0),
        new("flat 2x2 asymmetric pads, c2 o9, 1 wide", 1, 2, 3, 1, 9, 2, 2, 1, 1, 1, 1, 1, 0, 0, 1),
    ];

    public static readonly FusedActivation[] Activations =
    [
        FusedActivation.None,
        FusedActivation.Relu,
        new(ActivationKind.Clip, -0.25f, 0.5f),
        new(ActivationKind.LeakyRelu, Alpha: 0.1f),
    ];

    public static TheoryData<int, int, int> CasesTimesActivationsTimesThreads()
    {
        var data = new TheoryData<int, int, int>();
        for (var i = 0; i < Cases.Length; i++)
        {
            for (var a = 0; a < Activations.Length; a++)
            {
                foreach (var threads in new[] { 1, 2 })
                {
                    // The 224x224 stem once per activation is enough; every other case runs all combinations.
                    if (i == 0 && threads == 1 && a > 0)
                    {
                        continue;
                    }
                    data.Add(i, a, threads);
                }
            }
        }
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(CasesTimesActivationsTimesThreads))]
    public void Matches_The_Scalar_Reference(int caseIndex, int activation, int threads)
    {
        Skip.IfNot(Avx512F.IsSupported || Avx2.IsSupported && Fma.IsSupported, "The direct few-channel convolution needs AVX-512F or AVX2 with FMA.");
        var k = Cases[caseIndex];
        Skip.If(k.C > FewChannelConv.MaxChannels && !Avx512F.IsSupported, "Layers of more than 4 channels run the direct kernel with AVX-512F only.");
        var act = Activations[activation];
        var rng = new Random(caseIndex * 31 + activation);
        var x = Floats(rng, k.N * k.C * k.H * k.W, 2f);
        var w = Floats(rng, k.O * k.C * k.KH * k.KW, 0.3f);
        var bias = caseIndex % 3 == 1 ? null : Floats(rng, k.O, 0.5f);
        var y = Run(new FewChannelConv(w, bias, k.O, k.C, k.KH, k.KW, act), k, x, threads);
        var expected = Reference(k, x, w, bias, act);
        var diff = RandomTensors.RelativeDiff(Tensor.FromFloats([y.Length], y), Tensor.FromFloats([y.Length], expected));
        // A float sum's rounding error grows with its length: beyond 256 taps (the 64-channel 3×3 case has 576) in proportion.
        var tolerance = Tolerance * Math.Max(1.0, k.C * k.KH * k.KW / 256.0);
        Assert.True(diff <= tolerance, $"relative error {diff:E2} (tolerance {tolerance:E2})");
    }

    [SkippableFact]
    public void One_Thread_Gives_The_Same_Bits_As_Two()
    {
        Skip.IfNot(Avx512F.IsSupported || Avx2.IsSupported && Fma.IsSupported, "The direct few-channel convolution needs AVX-512F or AVX2 with FMA.");
        var k = Cases[1];
        var rng = new Random(5);
        var conv = new FewChannelConv(Floats(rng, k.O * k.C * k.KH * k.KW, 0.3f), Floats(rng, k.O, 0.5f), k.O, k.C, k.KH, k.KW, FusedActivation.Relu);
        var x = Floats(rng, k.N * k.C * k.H * k.W, 2f);
        Assert.Equal(Run(conv, k, x, 1), Run(conv, k, x, 2));
    }

    [Fact]
    public void Rule_Takes_One_Group_Of_At_Most_4_Channels_And_2048_Taps()
    {
        var vector = Avx512F.IsSupported || Avx2.IsSupported && Fma.IsSupported;
        Assert.Equal(vector, FewChannelConv.Applies(1, 3, 7, 7));
        Assert.Equal(vector, FewChannelConv.Applies(1, 4, 9, 9));
        Assert.False(FewChannelConv.Applies(1, 5, 3, 3));
        Assert.False(FewChannelConv.Applies(1, 1, 46, 46));
        Assert.False(FewChannelConv.Applies(2, 2, 3, 3));
    }

    [Fact]
    public void Wide_Row_Rule_Takes_Spatial_Kernels_Of_At_Most_128_Channels_With_AVX512_Beyond_64_On_Rows_Of_28()
    {
        Assert.Equal(Avx512F.IsSupported, FewChannelConv.AppliesToWideRows(1, 64, 3, 3));
        Assert.Equal(Avx512F.IsSupported, FewChannelConv.AppliesToWideRows(1, 16, 5, 5));
        Assert.Equal(Avx512F.IsSupported, FewChannelConv.AppliesToWideRows(1, 128, 3, 3));
        Assert.False(FewChannelConv.AppliesToWideRows(1, 129, 3, 3));
        Assert.True(FewChannelConv.RowsAreWide(new ConvGeometry(128, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1, 28, 28)));
        Assert.False(FewChannelConv.RowsAreWide(new ConvGeometry(128, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 14, 14)));
        Assert.True(FewChannelConv.RowsAreWide(new ConvGeometry(64, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 14, 14)));
        Assert.False(FewChannelConv.RunsFlat(new ConvGeometry(128, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 7, 7), wide: true));
        Assert.False(FewChannelConv.AppliesToWideRows(1, 32, 1, 1));
        Assert.False(FewChannelConv.AppliesToWideRows(2, 16, 3, 3));
        Assert.False(FewChannelConv.AppliesToWideRows(1, 64, 7, 7));
        Assert.True(FewChannelConv.RowsAreWide(Cases.First(c => c.Name.StartsWith("wide rows 3x3/1")).Geometry));
        Assert.False(FewChannelConv.RowsAreWide(new ConvGeometry(64, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 7, 7)));
    }

    [SkippableFact]
    public void Narrow_Rows_At_Stride_1_Run_Flat_With_AVX512()
    {
        Skip.IfNot(Avx512F.IsSupported, "The flat tiles are AVX-512 only.");
        var conv = new FewChannelConv(new float[64 * 64 * 9], null, 64, 64, 3, 3, FusedActivation.None);
        Assert.True(conv.RunsFlat(new ConvGeometry(64, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 7, 7)));
        Assert.False(conv.RunsFlat(new ConvGeometry(64, 14, 14, 3, 3, 2, 2, 1, 1, 1, 1, 7, 7)));
        Assert.False(conv.RunsFlat(new ConvGeometry(64, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 14, 14)));
    }

    private static float[] Run(FewChannelConv conv, Case k, float[] x, int threads)
    {
        var g = k.Geometry;
        var y = new float[k.N * k.O * k.OH * k.OW];
        // Scratch starts dirty: padding must be written, not assumed. The guard after the declared size must stay untouched.
        var size = FewChannelConv.ScratchFloats(g, k.N);
        var scratch = new float[size + Guard];
        scratch.AsSpan().Fill(float.NaN);
        fixed (float* px = x, py = y, ps = scratch)
        {
            conv.Run(px, k.N, g, py, ps, threads);
        }
        Assert.All(scratch[(int)size..], v => Assert.True(float.IsNaN(v), "wrote past ScratchFloats"));
        return y;
    }

    private static float[] Reference(Case k, float[] x, float[] w, float[]? bias, FusedActivation act)
    {
        var y = new float[k.N * k.O * k.OH * k.OW];
        for (var n = 0; n < k.N; n++)
        {
            for (var o = 0; o < k.O; o++)
            {
                for (var oy = 0; oy < k.OH; oy++)
                {
                    for (var ox = 0; ox < k.OW; ox++)
                    {
                        double sum = bias?[o] ?? 0f;
                        for (var c = 0; c < k.C; c++)
                        {
                            for (var ky = 0; ky < k.KH; ky++)
                            {
                                var iy = oy * k.SH - k.PadT + ky * k.DH;
                                for (var kx = 0; kx < k.KW; kx++)
                                {
                                    var ix = ox * k.SW - k.PadL + kx * k.DW;
                                    if (iy >= 0 && iy < k.H && ix >= 0 && ix < k.W)
                                    {
                                        sum += (double)w[((o * k.C + c) * k.KH + ky) * k.KW + kx] * x[((n * k.C + c) * k.H + iy) * k.W + ix];
                                    }
                                }
                            }
                        }
                        y[((n * k.O + o) * k.OH + oy) * k.OW + ox] = act.Apply((float)sum);
                    }
                }
            }
        }
        return y;
    }

    private static float[] Floats(Random rng, int count, float range)
    {
        var a = new float[count];
        for (var i = 0; i < count; i++)
        {
            a[i] = (float)(rng.NextDouble() * 2 - 1) * range;
        }
        return a;
    }
}
