using DSConvService.Core.Execution;
using DSConvService.Core.Kernels.Gemm;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// Direct depthwise convolution (one input channel per filter, any kernel, stride, dilation and padding):
/// each input plane is copied once into a zero-padded, phase-split form (<see cref="DepthwisePlaneLayout"/>),
/// then <see cref="DepthwisePlaneKernel"/> computes the output rows in registers with bias and activation fused
/// (Sigmoid and SiLU as a pass over each finished plane, <see cref="ActivationPass"/>).
/// </summary>
public static unsafe class DepthwiseConv
{
    /// <summary>Below this many multiply-adds in total a layer runs on the calling thread: a dispatch would cost more.</summary>
    private const long ParallelMacs = 1 << 15;

    /// <summary>Most threads one layer uses (each needs its own copy of the padded plane).</summary>
    private static readonly int MaxParts = Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <summary>Scratch floats <see cref="Run"/> needs, whatever the thread count and multiplier (none on the direct path).</summary>
    public static long ScratchFloats(in ConvGeometry g) => Math.Max(
        BlockedApplies(g) ? DepthwiseChannelBlocked.ScratchFloats(g) : 0,
        DepthwiseDirectKernel.Applies(g) ? 0 : CopyPathScratchFloats(g));

    /// <summary>
    /// Whether the channel-blocked path (<see cref="DepthwiseChannelBlocked"/>) is the faster one for a multiplier of 1
    /// (`bench depthwise`, all paths in interleaved rounds, fastest CPU time, Zen 3): every 5×5 layer (672x14x14 0.22 ms
    /// against the copy's 0.52, 144x56x56/2 0.22 against 0.50, 240x28x28 0.21 against 0.39) and every layer with rows
    /// of at most 28 outputs (960x7x7 3×3 0.056 against the direct kernel's 0.086, 576x14x14 0.086 against 0.133);
    /// the direct kernel stays ahead on 3×3 rows of 56 and 112. With AVX-512 (Zen 4, 2026-12-04) it is ahead of the
    /// 16-lane direct kernel on every MobileNetV2/EfficientNet shape (2–3.5x on strided and small maps: 960x7x7 0.066
    /// against 0.182 ms, 96x112x112/2 0.356 against 0.645) and level with the copy on 32x112x112, so it takes them all.
    /// </summary>
    internal static bool BlockedApplies(in ConvGeometry g) =>
        DepthwiseChannelBlocked.Supported && (Avx512F.IsSupported && Vector512.IsHardwareAccelerated || g.OutWidth <= 28 || g.KernelW >= 5);

    /// <summary>The path <see cref="Run"/> takes for this geometry and channel multiplier.</summary>
    internal static DepthwisePath Choose(in ConvGeometry g, int multiplier) =>
        multiplier == 1 && BlockedApplies(g) ? (DepthwiseChannelBlocked.Lanes(g) == 16 ? DepthwisePath.Blocked16 : DepthwisePath.Blocked)
        : DepthwiseDirectKernel.Applies(g) ? DepthwisePath.Direct
        : DepthwisePath.Copy;

    /// <summary>Scratch floats of the padded-copy path.</summary>
    internal static long CopyPathScratchFloats(in ConvGeometry g) => MaxParts * new DepthwisePlaneLayout(g).ScratchFloats;

    /// <summary>
    /// y[n, o, oy, ox] = act(bias[o] + Σ_{ky,kx} w[o, ky, kx] · x[n, o / multiplier, oy·sh − padT + ky·dh, ox·sw − padL + kx·dw]),
    /// zero outside x; <paramref name="inChannels"/> input planes and inChannels·multiplier output planes per image.
    /// </summary>
    /// <param name="bias">Null, or one value per output channel.</param>
    public static void Run(float* x, float* w, float* bias, float* y, int batch, int inChannels, int multiplier, in ConvGeometry g,
        FusedActivation act, float* scratch, int threads) =>
        Run(x, w, bias, y, batch, inChannels, multiplier, g, act, scratch, threads, Choose(g, multiplier));

    /// <summary><see cref="Run"/> on the path chosen by the caller (tests run every path the CPU supports).</summary>
    internal static void Run(float* x, float* w, float* bias, float* y, int batch, int inChannels, int multiplier, in ConvGeometry g,
        FusedActivation act, float* scratch, int threads, DepthwisePath path)
    {
        if (path is DepthwisePath.Blocked or DepthwisePath.Blocked16)
        {
            if (multiplier != 1)
            {
                throw new ArgumentException("The channel-blocked depthwise path runs a channel multiplier of 1 only.", nameof(multiplier));
            }
            DepthwiseChannelBlocked.Run(x, default(IdentityMap256), w, bias, y, batch, inChannels, g, act, scratch, threads,
                path == DepthwisePath.Blocked16 ? 16 : 8);
            return;
        }
        if (path == DepthwisePath.Direct)
        {
            RunDirect(x, w, bias, y, batch, inChannels, multiplier, g, act, threads);
            return;
        }
        var layout = new DepthwisePlaneLayout(g);
        var outChannels = inChannels * multiplier;
        var planes = batch * outChannels;
        var macs = (long)planes * g.OutPixels * g.KernelH * g.KernelW;
        var parts = macs < ParallelMacs ? 1 : Math.Clamp(threads, 1, Math.Min(planes, MaxParts));
        var (ax, aw, ab, ay, asc) = ((nint)x, (nint)w, (nint)bias, (nint)y, (nint)scratch);
        var geometry = g;
        CpuParallel.For(parts, parts, (p0, p1) =>
        {
            for (var part = p0; part < p1; part++)
            {
                var (first, end) = CpuParallel.Chunk(planes, parts, part);
                var s = (float*)asc + part * layout.ScratchFloats;
                for (var p = first; p < end; p++)
                {
                    var n = p / outChannels;
                    var o = p - n * outChannels;
                    var c = o / multiplier;
                    // A multiplier > 1 reuses the copied input plane for its consecutive output channels.
                    if (p == first || o % multiplier == 0)
                    {
                        layout.Fill((float*)ax + ((long)n * inChannels + c) * geometry.InPixels, geometry, s);
                    }
                    var b = ab == 0 ? 0f : ((float*)ab)[o];
                    var plane = (float*)ay + (long)p * geometry.OutPixels;
                    layout.Compute(s, (float*)aw + (long)o * layout.Taps, b, plane, geometry, ActivationPass.Fused(act));
                    ActivationPass.Finish(plane, geometry.OutPixels, act);
                }
            }
        });
    }

    /// <summary>
    /// Asks for the next input plane while this one is convolved: the kernel walks a plane chunk column by chunk
    /// column, a stride the hardware prefetchers follow badly, so a plane that is not in cache (batch 8: the tensor
    /// is several times L2) costs a miss per line; read in order ahead of time it streams into L2 (`bench depthwise
    /// --shapes 1152,56,3,1`, 8 images of a MobileNetV2 layer, 1 thread: 9.43 -> 6.03 ms; 256x112x112 5.32 -> 4.67).
    /// </summary>
    private static void Prefetch(float* plane, int floats)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            return;
        }
        for (var i = 0; i < floats; i += 16)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch1(plane + i);
        }
    }

    /// <summary>The copy-free path (<see cref="DepthwiseDirectKernel"/>): planes split over threads, no scratch.</summary>
    private static void RunDirect(float* x, float* w, float* bias, float* y, int batch, int inChannels, int multiplier, in ConvGeometry g,
        FusedActivation act, int threads)
    {
        var outChannels = inChannels * multiplier;
        var planes = batch * outChannels;
        var macs = (long)planes * g.OutPixels * g.KernelH * g.KernelW;
        var parts = macs < ParallelMacs ? 1 : Math.Clamp(threads, 1, planes);
        var (ax, aw, ab, ay) = ((nint)x, (nint)w, (nint)bias, (nint)y);
        var geometry = g;
        var taps = g.KernelH * g.KernelW;
        CpuParallel.For(planes, parts, (first, end) =>
        {
            for (var p = first; p < end; p++)
            {
                var n = p / outChannels;
                var o = p - n * outChannels;
                var input = (float*)ax + ((long)n * inChannels + o / multiplier) * geometry.InPixels;
                if (p + 1 < end)
                {
                    var next = p + 1;
                    var nn = next / outChannels;
                    Prefetch((float*)ax + ((long)nn * inChannels + (next - nn * outChannels) / multiplier) * geometry.InPixels, geometry.InPixels);
                }
                var b = ab == 0 ? 0f : ((float*)ab)[o];
                var plane = (float*)ay + (long)p * geometry.OutPixels;
                DepthwiseDirectKernel.Plane(input, (float*)aw + (long)o * taps, b, plane, geometry, ActivationPass.Fused(act));
                ActivationPass.Finish(plane, geometry.OutPixels, act);
            }
        });
    }
}

/// <summary>The depthwise implementations (<see cref="DepthwiseConv.Choose"/>).</summary>
internal enum DepthwisePath
{
    /// <summary>Per plane from the input, no copy (<see cref="DepthwiseDirectKernel"/>).</summary>
    Direct,

    /// <summary>Per plane from a padded, phase-split copy (<see cref="DepthwisePlaneLayout"/>).</summary>
    Copy,

    /// <summary>Blocks of 8 channels interleaved per pixel (<see cref="DepthwiseChannelBlocked"/>).</summary>
    Blocked,

    /// <summary>Blocks of 16 channels interleaved per pixel, 512-bit vectors (<see cref="DepthwiseBlockedKernel512"/>).</summary>
    Blocked16,
}
