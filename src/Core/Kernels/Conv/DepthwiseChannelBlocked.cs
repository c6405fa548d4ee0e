using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// Depthwise convolution (multiplier 1) on blocks of 8 channels: each block's input planes are transposed once
/// into a zero-padded buffer of 8 interleaved channels per pixel, then <see cref="DepthwiseBlockedKernel256"/>
/// computes every output with full-width loads (the NCHWc8 form ONNX Runtime uses for all its convolutions,
/// here only inside the layer: input and output stay NCHW). The per-plane kernels spend most of their time on
/// row edges and masks when rows are short or the kernel is 5×5; this form has neither.
/// </summary>
public static unsafe class DepthwiseChannelBlocked
{
    private const int Lanes = 8;

    /// <summary>Below this many multiply-adds in total a layer runs on the calling thread: a dispatch would cost more.</summary>
    private const long ParallelMacs = 1 << 15;

    /// <summary>Most threads one layer uses (each needs its own padded block).</summary>
    private static readonly int MaxParts = Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <summary>Whether this CPU can run the kernel (AVX2 and FMA).</summary>
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Padded rows and columns one block needs: exactly those the taps of the outputs read.</summary>
    internal static (int Rows, int Columns) PaddedSize(in ConvGeometry g) =>
        ((g.OutHeight - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1, (g.OutWidth - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1);

    // Per thread: the padded block, its slack, the block's weights and bias.
    private static long PartFloats(in ConvGeometry g)
    {
        var (rows, columns) = PaddedSize(g);
        return (long)rows * columns * Lanes + SlackFloats(g) + g.KernelH * g.KernelW * Lanes + Lanes;
    }

    // After the padded block: what the unused lanes of a row's last group read past the last row (7 pixels at the
    // stride, then one vector), and where input pixels no tap reads are dropped (its first pixel).
    private static int SlackFloats(in ConvGeometry g) => (7 * g.StrideW + 1) * Lanes;

    // Shared by the threads: where each input pixel goes in the padded block (one int per pixel, rounded up to 8).
    private static long OffsetFloats(in ConvGeometry g) => (g.InPixels + Lanes - 1) / Lanes * Lanes;

    /// <summary>Scratch floats <see cref="Run"/> needs, whatever the thread count.</summary>
    public static long ScratchFloats(in ConvGeometry g) => OffsetFloats(g) + MaxParts * PartFloats(g);

    /// <summary>
    /// y[n, c] = act(bias[c] + depthwise(x[n, c], w[c])) for <paramref name="channels"/> channels of
    /// <paramref name="batch"/> images, weights [channel][tap].
    /// </summary>
    public static void Run(float* x, float* w, float* bias, float* y, int batch, int channels, in ConvGeometry g, FusedActivation act,
        float* scratch, int threads) =>
        Run(x, default(IdentityMap256), w, bias, y, batch, channels, g, act, scratch, threads);

    /// <summary>
    /// <see cref="Run(float*, float*, float*, float*, int, int, in ConvGeometry, FusedActivation, float*, int)"/> on
    /// map(x): <paramref name="map"/> is applied to each input value as it is transposed into the padded block
    /// (e.g. DSConv's x̂), so the mapped input is never written out as planes.
    /// </summary>
    public static void Run<TMap>(float* x, TMap map, float* w, float* bias, float* y, int batch, int channels, in ConvGeometry g,
        FusedActivation act, float* scratch, int threads)
        where TMap : struct, IValueMap256
    {
        var blocks = (channels + Lanes - 1) / Lanes;
        var units = batch * blocks;
        var macs = (long)batch * channels * g.OutPixels * g.KernelH * g.KernelW;
        var parts = macs < ParallelMacs ? 1 : Math.Clamp(threads, 1, Math.Min(units, MaxParts));
        var perPart = PartFloats(g);
        var offsets = (int*)scratch;
        FillOffsets(g, offsets);
        var (ax, aw, ab, ay, asc) = ((nint)x, (nint)w, (nint)bias, (nint)y, (nint)(scratch + OffsetFloats(g)));
        var geometry = g;
        CpuParallel.For(parts, parts, (p0, p1) =>
        {
            for (var part = p0; part < p1; part++)
            {
                var (first, end) = CpuParallel.Chunk(units, parts, part);
                var s = (float*)asc + part * perPart;
                for (var u = first; u < end; u++)
                {
                    var n = u / blocks;
                    var c0 = u % blocks * Lanes;
                    var count = Math.Min(Lanes, channels - c0);
                    var planes = (float*)ax + ((long)n * channels + c0) * geometry.InPixels;
                    RunBlock(planes, map, (float*)aw, (float*)ab, (float*)ay, n, c0, count, channels, geometry, act, offsets, s);
                }
            }
        });
    }

    private static void FillOffsets(in ConvGeometry g, int* offsets)
    {
        var (rows, columns) = PaddedSize(g);
        ChannelBlockPadding.FillOffsets(rows, columns, g.PadTop, g.PadLeft, g.Height, g.Width, offsets);
    }

    // planes: the block's count input planes, InPixels apart.
    private static void RunBlock<TMap>(float* planes, TMap map, float* w, float* bias, float* y, int n, int c0, int count, int channels,
        in ConvGeometry g, FusedActivation act, int* offsets, float* scratch)
        where TMap : struct, IValueMap256
    {
        var (rows, columns) = PaddedSize(g);
        var taps = g.KernelH * g.KernelW;
        var padded = scratch;
        var weights = scratch + (long)rows * columns * Lanes + SlackFloats(g);
        for (var t = 0; t < taps; t++)
        {
            for (var c = 0; c < Lanes; c++)
            {
                weights[t * Lanes + c] = c < count ? w[(long)(c0 + c) * taps + t] : 0f;
            }
        }
        var b = weights + taps * Lanes;
        for (var c = 0; c < Lanes; c++)
        {
            b[c] = c < count && bias != null ? bias[c0 + c] : 0f;
        }
        ChannelBlockPadding.FillBorder(padded, rows, columns, g.PadTop, g.PadLeft, g.Height, g.Width, 0f);
        ChannelBlockTranspose256.PlanesToPixels(planes, g.InPixels, count, g.InPixels, offsets, padded, map);
        var vb = Vector256.Load(b);
        var output = y + ((long)n * channels + c0) * g.OutPixels;
        var rowFloats = (long)columns * Lanes;
        var fused = ActivationPass.Fused(act);
        for (var oy = 0; oy < g.OutHeight; oy++)
        {
            DepthwiseBlockedKernel256.Row(padded + oy * g.StrideH * rowFloats, columns, weights, vb, g, fused,
                output + (long)oy * g.OutWidth, g.OutPixels, count, (g.OutHeight - oy) * g.OutWidth);
        }
        ActivationPass.Finish(output, (long)count * g.OutPixels, act);
    }
}

/// <summary>A function applied to values as they are moved (8 lanes at a time, one value on the scalar edges).</summary>
public interface IValueMap256
{
    /// <summary>Maps <paramref name="v"/> in place; the lanes that need <see cref="Apply"/> instead are nonzero in the result.</summary>
    Vector256<int> Map(ref Vector256<float> v);

    float Apply(float v);
}

/// <summary>The values as they are.</summary>
public readonly struct IdentityMap256 : IValueMap256
{
    public Vector256<int> Map(ref Vector256<float> v) => Vector256<int>.Zero;

    public float Apply(float v) => v;
}
