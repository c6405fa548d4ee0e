using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels;

/// <summary>
/// The depthwise convolution, on each of its paths, against a scalar reference (double sums, relative error ≤ 1e-5): widths around
/// the 8- and 16-float vectors, strides 1–3, dilation, asymmetric pads, multipliers, batches, activations, threads.
/// Guards after the output and the scratch catch writes past the declared sizes.
/// </summary>
public sealed unsafe class DepthwiseConvTests
{
    private const double Tolerance = 1e-5;
    private const int Guard = 64;

    public sealed record Case(string Name, int N, int C, int M, int H, int W, int KH, int KW, int SH, int SW, int DH, int DW,
        int PadT, int PadL, int PadB, int PadR)
    {
        public int OH => (H + PadT + PadB - ((KH - 1) * DH + 1)) / SH + 1;
        public int OW => (W + PadL + PadR - ((KW - 1) * DW + 1)) / SW + 1;
        public ConvGeometry Geometry => new(1, H, W, KH, KW, SH, SW, DH, DW, PadT, PadL, OH, OW);
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases()
    {
        var data = new TheoryData<Case>();
        foreach (var c in AllCases())
        {
            data.Add(c);
        }
        return data;
    }

    private static List<Case> AllCases()
    {
        var data = new List<Case>
        {
            new("3x3/1 pad 1, 112 wide", 1, 4, 1, 112, 112, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new("3x3/2 pad 1, 112 wide (to 56)", 1, 3, 1, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),
            new("3x3/1 pad 1, 7x7, batch 3", 3, 5, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new("5x5/2 pad 2, 15x15 (odd), multiplier 2", 2, 3, 2, 15, 15, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2),
            new("5x5/1 pad 2, 14x14", 1, 6, 1, 14, 14, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2),
            new("5x5/1 pad 2, 9x30 (four vectors, the last partial)", 2, 3, 1, 9, 30, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2),
            new("5x5/1 pad 2, 6x43 (four vectors, then one)", 1, 2, 1, 6, 43, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2),
            new("3x3/1 dilation 2 pad 2", 1, 2, 1, 13, 19, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2),
            new("3x3/2 dilation 2 pad 2, 37 wide", 2, 2, 1, 13, 37, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2),
            new("3x3 stride (2,1) asymmetric pads", 2, 3, 1, 11, 10, 3, 3, 2, 1, 1, 1, 0, 1, 1, 0),
            new("3x3/3 dilation (1,2) no pad", 1, 2, 3, 17, 23, 3, 3, 3, 3, 1, 2, 0, 0, 0, 0),
            new("7x1 kernel, pad (3,0)", 1, 3, 1, 9, 17, 7, 1, 1, 1, 1, 1, 3, 0, 3, 0),
            new("1x1 kernel stride 2", 1, 3, 1, 9, 9, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0),
            new("3x3 1x1 map", 2, 4, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new("large pads", 1, 2, 1, 4, 5, 3, 3, 1, 1, 1, 1, 3, 4, 2, 3),
            // No pad and one-sided pads: the interior rows and columns of the AVX2 tight loop start at the edge.
            new("3x3/1 no pad, 20x21", 2, 3, 1, 20, 21, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0),
            new("3x3/2 no pad, 21x40", 1, 3, 1, 21, 40, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0),
            new("3x3/2 pads bottom-right only, 18x35", 1, 2, 1, 18, 35, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1),
            // Whole and partial blocks of 8 channels (the channel-blocked path), rows shorter and longer than 8 outputs.
            new("3x3/1 pad 1, 19 channels, 7x7, batch 2", 2, 19, 1, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new("5x5/1 pad 2, 16 channels, 14x14", 1, 16, 1, 14, 14, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2),
            new("5x5/2 pad 2, 8 channels, 14x14 (to 7x7), batch 3", 3, 8, 1, 14, 14, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2),
            new("3x3/2 pad 1, 24 channels, 28x27", 1, 24, 1, 28, 27, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),
            new("3x3/3 dilation 2, 9 channels, asymmetric pads, 17x29", 2, 9, 1, 17, 29, 3, 3, 3, 3, 2, 2, 2, 0, 1, 3),
            new("5x5/1 pad 2, 12 channels, 3x3 map", 1, 12, 1, 3, 3, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2),
            new("7x7/1 pad 3, 10 channels, 9x17", 1, 10, 1, 9, 17, 7, 7, 1, 1, 1, 1, 3, 3, 3, 3),
            // Blocks of 16 channels: whole, one partial block above 8 and one at most 8, rows around 8 outputs.
            new("3x3/1 pad 1, 32 channels, 12x12, batch 2", 2, 32, 1, 12, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1),
            new("3x3/2 pad 1, 29 channels, 23x17", 1, 29, 1, 23, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1),
            new("5x5/1 pad 2, 21 channels, 7x9", 1, 21, 1, 7, 9, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2),
            new("5x5/2 pad 2, 40 channels, 14x14, batch 2", 2, 40, 1, 14, 14, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2),
            new("3x3/1 dilation 2, 17 channels, 11x26", 1, 17, 1, 11, 26, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2),
        };
        foreach (var w in new[] { 1, 2, 5, 7, 8, 9, 15, 16, 17, 23, 24, 25, 31, 33 })
        {
            data.Add(new($"3x3/1 pad 1, width {w}", 1, 2, 1, 3, w, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1));
            data.Add(new($"3x3/2 pad 1, width {w}", 1, 2, 1, 5, w, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheScalarReference(Case c)
    {
        foreach (var act in new[] { FusedActivation.None, FusedActivation.Relu, new FusedActivation(ActivationKind.Clip, -0.2f, 0.3f), new FusedActivation(ActivationKind.LeakyRelu, Alpha: 0.1f), new FusedActivation(ActivationKind.Silu) })
        {
            foreach (var threads in new[] { 1, 2 })
            {
                foreach (var path in Paths(c))
                {
                    Check(c, act, threads, withBias: threads == 1, path);
                }
            }
        }
    }

    // Every path this CPU can run for the case: copy-free, padded copy, and channel-blocked (multiplier 1).
    private static IEnumerable<DepthwisePath> Paths(Case c)
    {
        if (DepthwiseDirectKernel.Supports(c.Geometry))
        {
            yield return DepthwisePath.Direct;
        }
        yield return DepthwisePath.Copy;
        if (DepthwiseChannelBlocked.Supported && c.M == 1)
        {
            yield return DepthwisePath.Blocked;
        }
        if (DepthwiseBlockedKernel512.Supported && c.M == 1)
        {
            yield return DepthwisePath.Blocked16;
        }
    }

    [Fact]
    public void The_Chosen_Path_Has_Its_Scratch()
    {
        foreach (var c in AllCases())
        {
            var needed = DepthwiseConv.Choose(c.Geometry, c.M) switch
            {
                DepthwisePath.Copy => DepthwiseConv.CopyPathScratchFloats(c.Geometry),
                DepthwisePath.Blocked => DepthwiseChannelBlocked.ScratchFloats(c.Geometry, 8),
                DepthwisePath.Blocked16 => DepthwiseChannelBlocked.ScratchFloats(c.Geometry, 16),
                _ => 0,
            };
            Assert.True(DepthwiseConv.ScratchFloats(c.Geometry) >= needed, c.Name);
        }
    }

    private static void Check(Case c, FusedActivation act, int threads, bool withBias, DepthwisePath path)
    {
        var g = c.Geometry;
        var o = c.C * c.M;
        var x = RandomTensors.Uniform(1, [c.N * c.C * c.H * c.W]).Floats;
        var w = RandomTensors.Uniform(2, [o * c.KH * c.KW]).Floats;
        var bias = withBias ? RandomTensors.Uniform(3, [o]).Floats : null;
        var outFloats = c.N * o * c.OH * c.OW;
        var y = new float[outFloats + Guard];
        var scratchFloats = path switch
        {
            DepthwisePath.Copy => DepthwiseConv.CopyPathScratchFloats(g),
            DepthwisePath.Blocked => DepthwiseChannelBlocked.ScratchFloats(g, 8),
            DepthwisePath.Blocked16 => DepthwiseChannelBlocked.ScratchFloats(g, 16),
            _ => 0,
        };
        var scratch = new float[scratchFloats + Guard];
        Array.Fill(y, 7f);
        Array.Fill(scratch, 9f);
        fixed (float* px = x, pw = w, pb = bias, py = y, ps = scratch)
        {
            DepthwiseConv.Run(px, pw, pb, py, c.N, c.C, c.M, g, act, ps, threads, path);
        }
        var expected = Reference(c, x, w, bias, act);
        double maxDiff = 0, maxRef = 0;
        for (var i = 0; i < outFloats; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(y[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        Assert.True(maxDiff <= Tolerance * Math.Max(1, maxRef), $"{c} {act.Kind} threads {threads} {path}: max diff {maxDiff}");
        Assert.All(y[outFloats..], v => Assert.Equal(7f, v));
        Assert.All(scratch[(int)scratchFloats..], v => Assert.Equal(9f, v));
    }

    private static double[] Reference(Case c, float[] x, float[] w, float[]? bias, FusedActivation act)
    {
        var o = c.C * c.M;
        var y = new double[c.N * o * c.OH * c.OW];
        for (var n = 0; n < c.N; n++)
        {
            for (var k = 0; k < o; k++)
            {
                var ch = k / c.M;
                for (var oy = 0; oy < c.OH; oy++)
                {
                    for (var ox = 0; ox < c.OW; ox++)
                    {
                        double sum = bias?[k] ?? 0;
                        for (var ky = 0; ky < c.KH; ky++)
                        {
                            for (var kx = 0; kx < c.KW; kx++)
                            {
                                var iy = oy * c.SH - c.PadT + ky * c.DH;
                                var ix = ox * c.SW - c.PadL + kx * c.DW;
                                if (iy >= 0 && iy < c.H && ix >= 0 && ix < c.W)
                                {
                                    sum += (double)w[(k * c.KH + ky) * c.KW + kx] * x[((n * c.C + ch) * c.H + iy) * c.W + ix];
                                }
                            }
                        }
                        y[((n * o + k) * c.OH + oy) * c.OW + ox] = act.Apply((float)sum);
                    }
                }
            }
        }
        return y;
    }
}
