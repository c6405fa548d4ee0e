using DSConvService.Core.Kernels.Pooling;

namespace DSConvService.Bench;

/// <summary>
/// `pool`: max pooling on the suite's shapes (GoogLeNet, ResNet18, SqueezeNet, ShuffleNet, LeNet), the per-plane
/// kernels against the channel-blocked one, 1 thread, fastest process CPU time of interleaved runs, and the path
/// the operator takes (<see cref="MaxPoolChannelBlocked.Applies"/>). Options: --runs N.
/// </summary>
public static unsafe class PoolBench
{
    public static int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        // channels, input size, kernel, stride, pad, ceil mode
        var shapes = new (int C, int H, int K, int S, int P, bool Ceil)[]
        {
            (64, 112, 3, 2, 1, false), (24, 112, 3, 2, 1, false), (64, 111, 3, 2, 0, true), (128, 55, 3, 2, 0, true),
            (256, 27, 3, 2, 0, true), (192, 56, 3, 2, 0, true), (480, 28, 3, 2, 0, true), (832, 14, 2, 2, 0, true),
            (192, 28, 3, 1, 1, true), (480, 14, 3, 1, 1, true), (832, 7, 3, 1, 1, true), (6, 28, 2, 2, 0, false),
        };
        Console.WriteLine($"CPU: {SuiteModels.CpuModel()}; 1 thread, fastest process CPU time of {o.Runs} interleaved runs");
        Console.WriteLine();
        Console.WriteLine("| shape | per plane (ms) | channel-blocked (ms) | taken |");
        Console.WriteLine("| --- | ---: | ---: | --- |");
        foreach (var (c, h, k, s, p, ceil) in shapes)
        {
            var span = h + 2 * p - k;
            var oh = (ceil ? (span + s - 1) / s : span / s) + 1;
            // ONNX ceil mode: a last window starting in the end padding is dropped.
            if (ceil && (oh - 1) * s >= h + p)
            {
                oh--;
            }
            var extra = (oh - 1) * s + k - h - 2 * p;
            var g = new PoolWindow(k, k, s, s, 1, 1, p, p, p + Math.Max(0, extra), p + Math.Max(0, extra), h, h, oh, oh);
            var x = Enumerable.Range(0, c * h * h).Select(i => (float)Math.Sin(i)).ToArray();
            var y = new float[c * oh * oh];
            var planeScratch = new float[g.ScratchLength + MaxPool3x3Stride2.BufferLength(g)];
            var blockScratch = new float[MaxPoolChannelBlocked.ScratchFloats(g)];
            void PerPlane()
            {
                for (var q = 0; q < c; q++)
                {
                    MaxPoolKernel.Plane(x.AsSpan(q * h * h, h * h), y.AsSpan(q * oh * oh, oh * oh), g, planeScratch);
                }
            }
            void Blocked()
            {
                fixed (float* px = x, py = y, ps = blockScratch)
                {
                    MaxPoolChannelBlocked.Run(px, py, c, g, ps, 1);
                }
            }
            var t = Timing.FastestCpu(o, PerPlane, Blocked);
            Console.WriteLine($"| {c}x{h}x{h} {k}x{k}/{s} pad {p}{(ceil ? " ceil" : "")} | {t[0]:F3} | {t[1]:F3} | {(MaxPoolChannelBlocked.Applies(g, c) ? "blocked" : "per plane")} |");
        }
        return 0;
    }
}
