using System.Diagnostics;
using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Bench;

/// <summary>
/// Single-thread GFLOP/s of each fp32 micro-kernel on cache-resident panels, and of the whole driver
/// on typical ResNet18 conv GEMM shapes. Reported per CPU-second of this process so a busy machine
/// distorts it less than wall time.
/// </summary>
public static unsafe class KernelBench
{
    public static int Run(string[] args)
    {
        if (args.Length >= 2 && args[0] == "--shape")
        {
            // One GEMM shape M,N,K (bias + Clip(0,6) epilogue) in a loop for a few seconds: something for perf to record.
            var mnk = args[1].Split(',').Select(int.Parse).ToArray();
            Loop(mnk[0], mnk[1], mnk[2]);
            return 0;
        }
        foreach (var isa in GemmKernels.Supported())
        {
            var kernel = GemmKernels.Get(isa);
            const int kc = 256;
            var a = new float[kc * kernel.MR];
            var b = new float[kc * kernel.NR];
            var c = new float[kernel.MR * kernel.NR];
            var calls = isa == GemmIsa.Scalar ? 2_000 : 50_000;
            fixed (float* fa = a, fb = b, fc = c)
            {
                var pa = fa;
                var pb = fb;
                var pc = fc;
                var flops = 2.0 * kc * kernel.MR * kernel.NR * calls;
                var ms = CpuMs(() =>
                {
                    for (var i = 0; i < calls; i++)
                    {
                        kernel.Run(kc, pa, pb, kernel.NR, pc, kernel.NR, true);
                    }
                });
                Console.WriteLine($"micro-kernel {isa} {kernel.MR}x{kernel.NR}: {flops / ms / 1e6:F0} GFLOP/CPU-s");
            }
        }
        var k0 = GemmKernels.Default;
        foreach (var (m, n, k) in new[] { (64, 3136, 576), (128, 784, 1152), (256, 196, 2304), (512, 49, 4608), (64, 12544, 147) })
        {
            var packedA = new float[Sgemm.PackedAFloats(k0, m, k)];
            var bsrc = new float[k * n];
            var scratch = new float[Sgemm.ScratchFloats(k0, n, k)];
            var c = new float[m * n];
            fixed (float* pa = packedA, pb = bsrc, ps = scratch, pc = c)
            {
                var pa2 = pa;
                var pb2 = pb;
                var ps2 = Sgemm.Align64(ps);
                var pc2 = pc;
                var reps = (int)Math.Max(3, 5e8 / (2.0 * m * n * k));
                var ms = CpuMs(() =>
                {
                    for (var r = 0; r < reps; r++)
                    {
                        Sgemm.Multiply(k0, pa2, new MatrixPanelSource(pb2, k, n, 1), ps2, m, n, k, pc2, n, false, default, 1);
                    }
                });
                Sgemm.PackB(k0, pb2, n, 1, k, n, ps2);
                var msPre = CpuMs(() =>
                {
                    for (var r = 0; r < reps; r++)
                    {
                        Sgemm.Multiply(k0, pa2, ps2, m, n, k, pc2, n, false, default, 1);
                    }
                });
                var flops = 2.0 * m * n * k * reps;
                Console.WriteLine($"driver {k0.Isa} M={m} N={n} K={k}: {flops / ms / 1e6:F0} GFLOP/CPU-s, B pre-packed: {flops / msPre / 1e6:F0}");
            }
        }
        EpilogueAB();
        ConvGemm("first conv 7x7/2", new ConvGeometry(3, 224, 224, 7, 7, 2, 2, 1, 1, 3, 3, 112, 112), 64);
        ConvGemm("stage 1 3x3/1", new ConvGeometry(64, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, 56, 56), 64);
        Im2Col("7x7/2 3ch 224", new ConvGeometry(3, 224, 224, 7, 7, 2, 2, 1, 1, 3, 3, 112, 112));
        Im2Col("3x3/1 64ch 56", new ConvGeometry(64, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, 56, 56));
        Im2Col("3x3/2 64ch 56", new ConvGeometry(64, 56, 56, 3, 3, 2, 2, 1, 1, 1, 1, 28, 28));
        return 0;
    }

    /// <summary>
    /// Bias + Clip(0, 6) on MobileNet-like pointwise shapes and two ResNet18 ones: applied to the micro-kernel's
    /// accumulators against a pass over each finished stripe (1 thread, B packed at run time, best CPU time of
    /// 5, the two forms alternated).
    /// </summary>
    private static void EpilogueAB()
    {
        var k0 = GemmKernels.Default;
        foreach (var (m, n, k) in new[] { (96, 12544, 16), (144, 3136, 24), (24, 3136, 144), (192, 784, 32), (384, 196, 64), (960, 49, 160), (64, 12544, 147), (64, 3136, 576) })
        {
            var packedA = new float[Sgemm.PackedAFloats(k0, m, k)];
            var bsrc = new float[k * n];
            var bias = new float[m];
            var scratch = new float[Sgemm.ScratchFloats(k0, n, k)];
            var c = new float[m * n];
            for (var i = 0; i < bsrc.Length; i++)
            {
                bsrc[i] = (i % 7) * 0.1f - 0.3f;
            }
            fixed (float* pa = packedA, pb = bsrc, ps = scratch, pc = c, pbias = bias)
            {
                var pa2 = pa;
                var pb2 = pb;
                var ps2 = Sgemm.Align64(ps);
                var pc2 = pc;
                var epilogue = new GemmEpilogue(pbias, null, new FusedActivation(ActivationKind.Clip, 0f, 6f));
                var reps = (int)Math.Max(3, 2e8 / (2.0 * m * n * k));
                double Time(bool fuse, int groupBytes = 16 << 10)
                {
                    Sgemm.FuseEpilogue = fuse;
                    Sgemm.PanelGroupBytes = groupBytes;
                    return CpuMs(() =>
                    {
                        for (var r = 0; r < reps; r++)
                        {
                            Sgemm.Multiply(k0, pa2, new MatrixPanelSource(pb2, k, n, 1), ps2, m, n, k, pc2, n, false, epilogue, 1);
                        }
                    }) / reps;
                }
                double fused = double.MaxValue, stripe = double.MaxValue, single = double.MaxValue;
                for (var round = 0; round < 3; round++)
                {
                    fused = Math.Min(fused, Time(true));
                    stripe = Math.Min(stripe, Time(false));
                    single = Math.Min(single, Time(true, 0));
                }
                Sgemm.FuseEpilogue = true;
                Sgemm.PanelGroupBytes = 16 << 10;
                Console.WriteLine($"epilogue {k0.Isa} M={m} N={n} K={k}: in registers {fused:F3} ms, stripe pass {stripe:F3} ms ({stripe / fused:F2}x), "
                    + $"one panel per row block {single:F3} ms ({single / fused:F2}x)");
            }
        }
    }

    private static void Loop(int m, int n, int k)
    {
        var k0 = GemmKernels.Default;
        var packedA = new float[Sgemm.PackedAFloats(k0, m, k)];
        var bsrc = new float[k * n];
        var bias = new float[m];
        var scratch = new float[Sgemm.ScratchFloats(k0, n, k)];
        var c = new float[m * n];
        fixed (float* pa = packedA, pb = bsrc, ps = scratch, pc = c, pbias = bias)
        {
            var epilogue = new GemmEpilogue(pbias, null, new FusedActivation(ActivationKind.Clip, 0f, 6f));
            var watch = Stopwatch.StartNew();
            var calls = 0;
            while (watch.Elapsed.TotalSeconds < 4)
            {
                Sgemm.Multiply(k0, pa, new MatrixPanelSource(pb, k, n, 1), Sgemm.Align64(ps), m, n, k, pc, n, false, epilogue, 1);
                calls++;
            }
            Console.WriteLine($"M={m} N={n} K={k}: {watch.Elapsed.TotalMilliseconds / calls:F3} ms per call (wall)");
        }
    }

    /// <summary>One conv as the operator runs it (im2col panels + GEMM, 1 thread) vs the same GEMM with B packed beforehand.</summary>
    private static void ConvGemm(string name, ConvGeometry g, int m)
    {
        var k0 = GemmKernels.Default;
        var x = new float[g.Channels * g.InPixels];
        var packedA = new float[Sgemm.PackedAFloats(k0, m, g.Taps)];
        var scratch = new float[Sgemm.ScratchFloats(k0, g.OutPixels, g.Taps)];
        var y = new float[m * g.OutPixels];
        fixed (float* px = x, pa = packedA, ps = scratch, py = y)
        {
            var src = new Im2ColPanelSource(px, g);
            var a = pa;
            var d = Sgemm.Align64(ps);
            var c = py;
            var n = g.OutPixels;
            var k = g.Taps;
            var flops = 2.0 * m * n * k;
            var ms = CpuMs(() => Sgemm.Multiply(k0, a, src, d, m, n, k, c, n, false, default, 1));
            src.Pack(0, n, new PanelLayout(k, k0.NR, k0.NRStep), d);
            var msPre = CpuMs(() => Sgemm.Multiply(k0, a, d, m, n, k, c, n, false, default, 1));
            Console.WriteLine($"conv {name}: {ms:F2} ms ({flops / ms / 1e6:F0} GFLOP/CPU-s), B pre-packed {msPre:F2} ms ({flops / msPre / 1e6:F0})");
        }
    }

    private static void Im2Col(string name, ConvGeometry g)
    {
        var k0 = GemmKernels.Default;
        var x = new float[g.Channels * g.InPixels];
        var dst = new float[Sgemm.ScratchFloats(k0, g.OutPixels, g.Taps)];
        fixed (float* px = x, pd = dst)
        {
            var src = new Im2ColPanelSource(px, g);
            var d = Sgemm.Align64(pd);
            var layout = new PanelLayout(g.Taps, k0.NR, k0.NRStep);
            var ms = CpuMs(() =>
            {
                for (var r = 0; r < 10; r++)
                {
                    src.Pack(0, g.OutPixels, layout, d);
                }
            }) / 10;
            // One L2-sized chunk packed over and over (what the driver does).
            var chunkCols = Math.Max(1, (1 << 17) / (g.Taps * k0.NR)) * k0.NR;
            var reps = g.OutPixels / chunkCols;
            var msChunk = CpuMs(() =>
            {
                for (var r = 0; r < 10 * reps; r++)
                {
                    src.Pack(chunkCols * (r % reps), chunkCols, layout, d);
                }
            }) / 10;
            var floats = (double)g.Taps * g.OutPixels;
            Console.WriteLine($"im2col {name}: whole {ms * 1e6 / floats:F2} ns/float, in chunks {msChunk * 1e6 / (reps * chunkCols * (double)g.Taps):F2} ns/float ({msChunk:F2} ms per image)");
        }
    }

    /// <summary>Best of 5 (CPU time), after one warm-up call.</summary>
    private static double CpuMs(Action action)
    {
        action();
        var p = Process.GetCurrentProcess();
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            p.Refresh();
            var start = p.TotalProcessorTime;
            action();
            p.Refresh();
            best = Math.Min(best, (p.TotalProcessorTime - start).TotalMilliseconds);
        }
        return best;
    }
}
