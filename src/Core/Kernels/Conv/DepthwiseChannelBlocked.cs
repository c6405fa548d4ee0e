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
    /// <summary>Below this many multiply-adds in total a layer runs on the calling thread: a dispatch would cost more.</summary>
    private const long ParallelMacs = 1 << 15;

    /// <summary>Most threads one layer uses (each needs its own padded block).</summary>
    private static readonly int MaxParts = Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <summary>Whether this CPU can run the kernel (AVX2 and FMA).</summary>
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// Channels per block for this geometry: 16 (<see cref="DepthwiseBlockedKernel512"/>) where 512-bit vectors run at
    /// full width and the map is at most 28 wide, else 8. `bench depthwise`, Zen 5, 1 thread, warm buffers: 16 lanes take
    /// 576x14x14 0.060 → 0.044 ms, 960x7x7 0.041 → 0.024, 672x14x14 5×5 0.142 → 0.120, 240x28x28 5×5 0.185 → 0.159,
    /// 192x28x28 0.063 → 0.057; on 56- and 112-wide maps they are level or slower (96x112x112/2 0.220 → 0.259, cold 0.361 → 0.467): there the work
    /// is moving the data, and 16 input and 16 output planes at once stream worse than 8 (the block overflows L2; strips
    /// of rows and prefetching the next strip did not help).
    /// </summary>
    public static int Lanes(in ConvGeometry g) =>
        DepthwiseBlockedKernel512.Supported && g.Width <= 28 ? 16 : 8;

    /// <summary>Padded rows and columns one block needs: exactly those the taps of the outputs read.</summary>
    internal static (int Rows, int Columns) PaddedSize(in ConvGeometry g) =>
        ((g.OutHeight - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1, (g.OutWidth - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1);

    // Per thread: the padded block, its slack, the block's weights and bias.
    private static long PartFloats(in ConvGeometry g, int lanes)
    {
        var (rows, columns) = PaddedSize(g);
        return (long)rows * columns * lanes + SlackFloats(g, lanes) + g.KernelH * g.KernelW * lanes + lanes;
    }

    // After the padded block: what the unused lanes of a row's last group read past the last row (7 pixels at the
    // stride, then one vector), and where input pixels no tap reads are dropped (its first pixel).
    private static int SlackFloats(in ConvGeometry g, int lanes) => (7 * g.StrideW + 1) * lanes;

    // Shared by the threads: where each input pixel goes in the padded block (one int per pixel, rounded up to 16).
    private static long OffsetFloats(in ConvGeometry g) => (g.InPixels + 15) / 16 * 16;

    /// <summary>Scratch floats <see cref="Run(float*, float*, float*, float*, int, int, in ConvGeometry, FusedActivation, float*, int)"/> needs, whatever the thread count.</summary>
    public static long ScratchFloats(in ConvGeometry g) => ScratchFloats(g, Lanes(g));

    /// <summary>Scratch floats for blocks of <paramref name="lanes"/> (8 or 16) channels.</summary>
    internal static long ScratchFloats(in ConvGeometry g, int lanes) => OffsetFloats(g) + MaxParts * PartFloats(g, lanes);

    /// <summary>
    /// y[n, c] = act(bias[c] + depthwise(x[n, c], w[c])) for <paramref name="channels"/> channels of
    /// <paramref name="batch"/> images, weights [channel][tap].
    /// </summary>
    public static void Run(float* x, float* w, float* bias, float* y, int batch, int channels, in ConvGeometry g, FusedActivation act,
        float* scratch, int threads) =>
        Run(x, default(IdentityMap256), w, bias, y, batch, channels, g, act, scratch, threads, Lanes(g));

    /// <summary>
    /// <see cref="Run(float*, float*, float*, float*, int, int, in ConvGeometry, FusedActivation, float*, int)"/> on
    /// map(x): <paramref name="map"/> is applied to each input value as it is transposed into the padded block
    /// (e.g. DSConv's x̂), so the mapped input is never written out as planes.
    /// </summary>
    public static void Run<TMap>(float* x, TMap map, float* w, float* bias, float* y, int batch, int channels, in ConvGeometry g,
        FusedActivation act, float* scratch, int threads)
        where TMap : struct, IValueMap256 =>
        Run(x, map, w, bias, y, batch, channels, g, act, scratch, threads, Lanes(g));

    /// <summary>The run on blocks of <paramref name="lanes"/> channels: 8 (AVX2) or 16 (AVX-512; tests run both).</summary>
    internal static void Run<TMap>(float* x, TMap map, float* w, float* bias, float* y, int batch, int channels, in ConvGeometry g,
        FusedActivation act, float* scratch, int threads, int lanes)
        where TMap : struct, IValueMap256
    {
        if (lanes != 8 && (lanes != 16 || !DepthwiseBlockedKernel512.Supported))
        {
            throw new ArgumentException($"Blocks of {lanes} channels are not supported on this CPU.", nameof(lanes));
        }
        var blocks = (channels + lanes - 1) / lanes;
        var units = batch * blocks;
        var macs = (long)batch * channels * g.OutPixels * g.KernelH * g.KernelW;
        var parts = macs < ParallelMacs ? 1 : Math.Clamp(threads, 1, Math.Min(units, MaxParts));
        var perPart = PartFloats(g, lanes);
        var offsets = (int*)scratch;
        FillOffsets(g, offsets, lanes);
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
                    var c0 = u % blocks * lanes;
                    var count = Math.Min(lanes, channels - c0);
                    var planes = (float*)ax + ((long)n * channels + c0) * geometry.InPixels;
                    if (lanes == 16)
                    {
                        RunBlock16(planes, map, (float*)aw, (float*)ab, (float*)ay, n, c0, count, channels, geometry, act, offsets, s, u == first);
                    }
                    else
                    {
                        RunBlock(planes, map, (float*)aw, (float*)ab, (float*)ay, n, c0, count, channels, geometry, act, offsets, s, u == first);
                    }
                }
            }
        });
    }

    private static void FillOffsets(in ConvGeometry g, int* offsets, int lanes)
    {
        var (rows, columns) = PaddedSize(g);
        ChannelBlockPadding.FillOffsets(rows, columns, g.PadTop, g.PadLeft, g.Height, g.Width, offsets, lanes);
    }

    // The block's weights as [tap][lanes] and its bias after them, zero for the channels beyond count.
    private static float* BlockWeights(float* w, float* bias, int c0, int count, int taps, int lanes, float* weights)
    {
        if (count == lanes)
        {
            GatherWeights(w + (long)c0 * taps, taps, lanes, weights);
        }
        else
        {
            ScalarWeights(w, c0, count, taps, lanes, weights);
        }
        var b = weights + taps * lanes;
        for (var c = 0; c < lanes; c++)
        {
            b[c] = c < count && bias != null ? bias[c0 + c] : 0f;
        }
        return b;
    }

    // A whole block's taps, 8 channels per gather (there is no 512-bit gather in .NET 10).
    private static void GatherWeights(float* w, int taps, int lanes, float* weights)
    {
        var index = Vector256<int>.Indices * Vector256.Create(taps);
        for (var t = 0; t < taps; t++)
        {
            for (var half = 0; half < lanes; half += 8)
            {
                Avx2.GatherVector256(w + (long)half * taps + t, index, 4).Store(weights + t * lanes + half);
            }
        }
    }

    private static void ScalarWeights(float* w, int c0, int count, int taps, int lanes, float* weights)
    {
        for (var t = 0; t < taps; t++)
        {
            for (var c = 0; c < lanes; c++)
            {
                weights[t * lanes + c] = c < count ? w[(long)(c0 + c) * taps + t] : 0f;
            }
        }
    }

    // planes: the block's count input planes, InPixels apart.
    private static void RunBlock<TMap>(float* planes, TMap map, float* w, float* bias, float* y, int n, int c0, int count, int channels,
        in ConvGeometry g, FusedActivation act, int* offsets, float* scratch, bool fillBorder)
        where TMap : struct, IValueMap256
    {
        var columns = PaddedSize(g).Columns;
        var weights = FillBlock(planes, map, w, bias, c0, count, g, offsets, scratch, fillBorder, 8);
        var vb = Vector256.Load(weights + g.KernelH * g.KernelW * 8);
        var output = y + ((long)n * channels + c0) * g.OutPixels;
        var rowFloats = (long)columns * 8;
        var fused = ActivationPass.Fused(act);
        for (var oy = 0; oy < g.OutHeight; oy++)
        {
            DepthwiseBlockedKernel256.Row(scratch + oy * g.StrideH * rowFloats, columns, weights, vb, g, fused,
                output + (long)oy * g.OutWidth, g.OutPixels, count, (g.OutHeight - oy) * g.OutWidth);
        }
        ActivationPass.Finish(output, (long)count * g.OutPixels, act);
    }

    // A block of 16 channels: the same steps with the 512-bit kernel.
    private static void RunBlock16<TMap>(float* planes, TMap map, float* w, float* bias, float* y, int n, int c0, int count, int channels,
        in ConvGeometry g, FusedActivation act, int* offsets, float* scratch, bool fillBorder)
        where TMap : struct, IValueMap256
    {
        var columns = PaddedSize(g).Columns;
        var weights = FillBlock(planes, map, w, bias, c0, count, g, offsets, scratch, fillBorder, 16);
        var vb = Vector512.Load(weights + g.KernelH * g.KernelW * 16);
        var output = y + ((long)n * channels + c0) * g.OutPixels;
        var rowFloats = (long)columns * 16;
        var fused = ActivationPass.Fused(act);
        for (var oy = 0; oy < g.OutHeight; oy++)
        {
            DepthwiseBlockedKernel512.Row(scratch + oy * g.StrideH * rowFloats, columns, weights, vb, g, fused,
                output + (long)oy * g.OutWidth, g.OutPixels, count, (g.OutHeight - oy) * g.OutWidth);
        }
        ActivationPass.Finish(output, (long)count * g.OutPixels, act);
    }

    /// <summary>
    /// The block's padded input at <paramref name="scratch"/> (map(x), <paramref name="lanes"/> channels a pixel; with 16,
    /// each half of a pixel comes from the 8-channel transpose, the second one zeros when the block has at most 8
    /// channels), then its weights [tap][lanes] and bias after the slack; returns the weights. The transposes write the
    /// image part of the padded block only, so its zero border is filled once per thread and layer (fillBorder: the
    /// thread's first block); per block it was a dozen short fills, as long as the block's compute on 7×7 maps.
    /// </summary>
    private static float* FillBlock<TMap>(float* planes, TMap map, float* w, float* bias, int c0, int count, in ConvGeometry g,
        int* offsets, float* scratch, bool fillBorder, int lanes)
        where TMap : struct, IValueMap256
    {
        var (rows, columns) = PaddedSize(g);
        var b = BlockWeights(w, bias, c0, count, g.KernelH * g.KernelW, lanes, scratch + (long)rows * columns * lanes + SlackFloats(g, lanes));
        if (fillBorder)
        {
            ChannelBlockPadding.FillBorder(scratch, rows, columns, g.PadTop, g.PadLeft, g.Height, g.Width, 0f, lanes);
        }
        ChannelBlockTranspose256.PlanesToPixels(planes, g.InPixels, Math.Min(count, 8), g.InPixels, offsets, scratch, map);
        if (lanes == 16)
        {
            ChannelBlockTranspose256.PlanesToPixels(planes + 8L * g.InPixels, g.InPixels, Math.Max(count - 8, 0), g.InPixels, offsets,
                scratch + 8, map);
        }
        return b - g.KernelH * g.KernelW * lanes;
    }
}

/// <summary>A function applied to values as they are moved (8 or 16 lanes at a time, one value on the scalar edges).</summary>
public interface IValueMap256
{
    /// <summary>Maps <paramref name="v"/> in place; the lanes that need <see cref="Apply"/> instead are nonzero in the result.</summary>
    Vector256<int> Map(ref Vector256<float> v);

    /// <summary>
    /// Maps 16 values and folds into <paramref name="minNonZero"/> and <paramref name="max"/> what <see cref="Fits"/>
    /// needs to tell whether every lane of a run of calls was in the vector form's range (one check per run).
    /// </summary>
    Vector512<float> Map(Vector512<float> v, ref Vector512<uint> minNonZero, ref Vector512<int> max);

    /// <summary>Whether the values folded into <paramref name="minNonZero"/> and <paramref name="max"/> were all mapped right.</summary>
    bool Fits(Vector512<uint> minNonZero, Vector512<int> max);

    float Apply(float v);
}

/// <summary>The values as they are.</summary>
public readonly struct IdentityMap256 : IValueMap256
{
    public Vector256<int> Map(ref Vector256<float> v) => Vector256<int>.Zero;

    public Vector512<float> Map(Vector512<float> v, ref Vector512<uint> minNonZero, ref Vector512<int> max) => v;

    public bool Fits(Vector512<uint> minNonZero, Vector512<int> max) => true;

    public float Apply(float v) => v;
}
