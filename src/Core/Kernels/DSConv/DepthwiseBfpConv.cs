using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Threading;
using DSConvService.Core.Kernels.Conv;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// A depthwise DSConv layer with BFP activations, plane by plane: a depthwise layer has one input channel per
/// group, so each activation block is a single value (DESIGN 2.2) and x̂ of one input plane depends on that plane
/// alone. Each worker simulates one plane into its own buffer, copies it padded (<see cref="DepthwisePlaneLayout"/>)
/// and convolves it while both are in cache: x̂ of the whole tensor is never written to memory and read back.
/// The numbers are those of <see cref="BfpSimulator"/> followed by <see cref="DepthwiseConv"/>, whose choice of
/// <see cref="DepthwiseDirectKernel"/> (no padded copy) or <see cref="DepthwiseChannelBlocked"/> this follows.
/// </summary>
internal static unsafe class DepthwiseBfpConv
{
    /// <summary>Below this many multiply-adds in total a layer runs on the calling thread: a dispatch would cost more.</summary>
    private const long ParallelMacs = 1 << 15;

    private static readonly int MaxParts = Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <summary>Per worker: the padded phase planes and one simulated input plane (64-byte aligned).</summary>
    private static long WorkerFloats(in ConvGeometry g) => (new DepthwisePlaneLayout(g).ScratchFloats + g.InPixels + 15) / 16 * 16;

    /// <summary>Scratch floats <see cref="Run"/> needs, whatever the thread count and multiplier.</summary>
    public static long ScratchFloats(in ConvGeometry g) => Math.Max(MaxParts * WorkerFloats(g) + 16,
        DepthwiseConv.BlockedApplies(g) ? DepthwiseChannelBlocked.ScratchFloats(g) : 0);

    /// <summary>y = act(depthwise(x̂, w) + bias) with <paramref name="multiplier"/> output channels per input channel.</summary>
    public static void Run(float* x, float* w, float* bias, float* y, int batch, int inChannels, int multiplier, in ConvGeometry g,
        FusedActivation act, DSConvFormat f, float* scratch, int threads)
    {
        if (multiplier == 1 && DepthwiseConv.BlockedApplies(g))
        {
            // The fp32 engine's choice for these layers: blocks of 8 channels, each value simulated as it is transposed.
            DepthwiseChannelBlocked.Run(x, new SingleValueBfp256(f), w, bias, y, batch, inChannels, g, act, scratch, threads);
            return;
        }
        var layout = new DepthwisePlaneLayout(g);
        var outChannels = inChannels * multiplier;
        var planes = batch * outChannels;
        var macs = (long)planes * g.OutPixels * g.KernelH * g.KernelW;
        var parts = macs < ParallelMacs ? 1 : Math.Clamp(threads, 1, Math.Min(planes, MaxParts));
        var (ax, aw, ab, ay) = ((nint)x, (nint)w, (nint)bias, (nint)y);
        var asc = (nint)Gemm.Sgemm.Align64(scratch);
        var geometry = g;
        var workerFloats = WorkerFloats(g);
        // Where the fp32 engine reads planes without a padded copy, x̂ of a plane is convolved straight from the buffer it was simulated into.
        var direct = DepthwiseDirectKernel.Applies(g);
        CpuParallel.For(parts, parts, (p0, p1) =>
        {
            for (var part = p0; part < p1; part++)
            {
                var (first, end) = CpuParallel.Chunk(planes, parts, part);
                var s = (float*)asc + part * workerFloats;
                var simulated = s + layout.ScratchFloats;
                for (var p = first; p < end; p++)
                {
                    var n = p / outChannels;
                    var o = p - n * outChannels;
                    var c = o / multiplier;
                    // A multiplier > 1 reuses the simulated, copied input plane for its consecutive output channels.
                    if (p == first || o % multiplier == 0)
                    {
                        var plane = (float*)ax + ((long)n * inChannels + c) * geometry.InPixels;
                        BfpSimulator.SimulatePixels(plane, simulated, 1, geometry.InPixels, 0, geometry.InPixels, f);
                        if (!direct)
                        {
                            layout.Fill(simulated, geometry, s);
                        }
                    }
                    var b = ab == 0 ? 0f : ((float*)ab)[o];
                    var wo = (float*)aw + (long)o * layout.Taps;
                    var yo = (float*)ay + (long)p * geometry.OutPixels;
                    var fused = ActivationPass.Fused(act);
                    if (direct)
                    {
                        DepthwiseDirectKernel.Plane(simulated, wo, b, yo, geometry, fused);
                    }
                    else
                    {
                        layout.Compute(s, wo, b, yo, geometry, fused);
                    }
                    ActivationPass.Finish(yo, geometry.OutPixels, act);
                }
            }
        });
    }
}
