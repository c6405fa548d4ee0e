using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Bench;

/// <summary>
/// `depthwise`: the three depthwise paths (copy-free direct kernel, padded copy, channel-blocked) on MobileNetV2 / EfficientNet shapes,
/// 1 thread, timed in interleaved rounds (the fastest run's process CPU time, which other processes on the machine
/// disturb least), and the path <see cref="DepthwiseConv.Choose"/> picks.
/// </summary>
public static unsafe class DepthwiseBench
{
    public static int Run(string[] args)
    {
        // --shapes C,H,K,S;C,H,K,S… replaces the built-in list (channels, square input size, square kernel, stride).
        var shapes = new[] { (32, 112, 3, 1), (96, 112, 3, 2), (144, 56, 3, 1), (144, 56, 3, 2), (192, 28, 3, 1), (576, 14, 3, 1), (960, 7, 3, 1), (672, 14, 5, 1), (1152, 7, 5, 1), (144, 56, 5, 2), (672, 14, 5, 2), (240, 28, 5, 1) };
        var at = Array.IndexOf(args, "--shapes");
        if (at >= 0)
        {
            shapes = args[at + 1].Split(';').Select(t => t.Split(',').Select(int.Parse).ToArray()).Select(v => (v[0], v[1], v[2], v[3])).ToArray();
            args = args.Where((_, i) => i != at && i != at + 1).ToArray();
        }
        // --silu fuses SiLU (EfficientNet's activation) instead of Relu.
        var act = args.Contains("--silu") ? new FusedActivation(ActivationKind.Silu) : FusedActivation.Relu;
        args = args.Where(a => a != "--silu").ToArray();
        // --cold rotates over enough input and output buffers (64 MiB each way) that every run reads and writes memory
        // no cache holds, as a layer inside a model does.
        var cold = args.Contains("--cold");
        args = args.Where(a => a != "--cold").ToArray();
        var o = BenchOptions.Parse(args);
        Console.WriteLine($"CPU: {SuiteModels.CpuModel()}; 1 thread, {act.Kind} fused, {(cold ? "cold buffers, " : "")}fastest process CPU time of {o.Runs} interleaved runs");
        Console.WriteLine();
        Console.WriteLine("| shape | direct ms | copy ms | blocked 8 ms | blocked 16 ms | chosen | GMAC/s (chosen) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- | ---: |");
        foreach (var (c, h, k, s) in shapes)
        {
            var pad = k / 2;
            var oh = (h + 2 * pad - k) / s + 1;
            var g = new ConvGeometry(1, h, h, k, k, s, s, 1, 1, pad, pad, oh, oh);
            var copies = cold ? Math.Max(2, (64 << 20) / (4 * c * h * h)) : 1;
            var xs = Enumerable.Range(0, copies).Select(_ => new float[c * h * h]).ToArray();
            var ys = Enumerable.Range(0, copies).Select(_ => new float[c * oh * oh]).ToArray();
            var w = new float[c * k * k];
            var turn = 0;
            var scratch = new float[Math.Max(DepthwiseConv.CopyPathScratchFloats(g), Math.Max(DepthwiseChannelBlocked.ScratchFloats(g, 8), DepthwiseChannelBlocked.ScratchFloats(g, 16))) + 16];
            foreach (var x in xs)
            {
                for (var i = 0; i < x.Length; i++)
                {
                    x[i] = i % 7 - 3;
                }
            }
            Action Path(DepthwisePath path) => () =>
            {
                turn = (turn + 1) % copies;
                fixed (float* px = xs[turn], pw = w, py = ys[turn], ps = scratch)
                {
                    DepthwiseConv.Run(px, pw, null, py, 1, c, 1, g, act, ps, 1, path);
                }
            };
            var paths = new[] { DepthwisePath.Direct, DepthwisePath.Copy, DepthwisePath.Blocked, DepthwisePath.Blocked16 }
                .Where(p => p switch { DepthwisePath.Direct => DepthwiseDirectKernel.Supports(g), DepthwisePath.Blocked => DepthwiseChannelBlocked.Supported, DepthwisePath.Blocked16 => DepthwiseBlockedKernel512.Supported, _ => true })
                .ToArray();
            var measured = Timing.FastestCpu(o, paths.Select(Path).ToArray());
            double Time(DepthwisePath p) => Array.IndexOf(paths, p) is var i and >= 0 ? measured[i] : double.NaN;
            var chosen = DepthwiseConv.Choose(g, 1);
            var macs = (double)c * oh * oh * k * k;
            Console.WriteLine($"| {c}x{h}x{h} {k}x{k}/{s} | {Time(DepthwisePath.Direct):F3} | {Time(DepthwisePath.Copy):F3} | {Time(DepthwisePath.Blocked):F3} | {Time(DepthwisePath.Blocked16):F3} | {chosen.ToString().ToLowerInvariant()} | {macs / Time(chosen) / 1e6:F1} |");
        }
        return 0;
    }
}
