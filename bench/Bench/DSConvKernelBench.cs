using System.Diagnostics;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Native;

namespace DSConvService.Bench;

/// <summary>
/// `dsconv kernel`: one micro-kernel on an L1-resident tile (K = 576 = 18 blocks of 32, 16 row panels),
/// 1 thread; GOP/s from wall time and from the thread's CPU time (robust on a shared machine).
/// </summary>
public static unsafe class DSConvKernelBench
{
    public static int Run(string[] args)
    {
        const int blocks = 18, steps = 8, panels = 16, iterations = 4000;
        var ksteps = blocks * steps;
        var a = GC.AllocateArray<byte>(ksteps * 128, pinned: true);
        var q = GC.AllocateArray<sbyte>(panels * ksteps * 16, pinned: true);
        var s = GC.AllocateArray<float>(blocks * 32, pinned: true);
        var xi = GC.AllocateArray<float>(panels * blocks * 4, pinned: true);
        var corr = GC.AllocateArray<int>(panels * blocks * 4, pinned: true);
        var aOff = GC.AllocateArray<int>(ksteps, pinned: true);
        var sOff = GC.AllocateArray<int>(blocks, pinned: true);
        var c = GC.AllocateArray<float>(128, pinned: true);
        var rng = new Random(1);
        rng.NextBytes(a);
        for (var i = 0; i < q.Length; i++)
        {
            q[i] = (sbyte)rng.Next(-8, 8);
        }
        Array.Fill(s, 0.01f);
        Array.Fill(xi, 0.5f);
        for (var i = 0; i < ksteps; i++)
        {
            aOff[i] = i * 128;
        }
        for (var i = 0; i < blocks; i++)
        {
            sOff[i] = i * 32;
        }
        foreach (var isa in DSConvIsaSupport.Available)
        {
            fixed (byte* pa = a)
            fixed (sbyte* pq = q)
            fixed (float* ps = s, pxi = xi, pc = c)
            fixed (int* pcorr = corr, pao = aOff, pso = sOff)
            {
                var t = new TileArgs
                {
                    A = pa, AOffsets = pao, S = ps, SOffsets = pso, KBlocks = blocks, StepsPerBlock = steps,
                    Int16Steps = DSConvIsaSupport.Int16Steps(4, 8), C = pc,
                };
                var iters = isa == DSConvIsa.Scalar ? iterations / 50 : iterations;
                for (var rep = 0; rep < 2; rep++)
                {
                    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    var sw = Stopwatch.StartNew();
                    for (var it = 0; it < iters; it++)
                    {
                        for (var p = 0; p < panels; p++)
                        {
                            t.Q = pq + p * ksteps * 16;
                            t.Xi = pxi + p * blocks * 4;
                            t.Correction = pcorr + p * blocks * 4;
                            switch (isa)
                            {
                                case DSConvIsa.Avx512Int16: Avx512Int16Kernel.Run(t); break;
                                case DSConvIsa.Avx512Vnni: Avx512VnniKernel.Run(t); break;
                                case DSConvIsa.AvxVnni: AvxVnniKernel.Run(t); break;
                                case DSConvIsa.Avx2: Avx2Kernel.Run(t); break;
                                default: ScalarKernel.Run(t); break;
                            }
                        }
                    }
                    var wall = sw.Elapsed.TotalSeconds;
                    var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                    var ops = 2.0 * iters * panels * 4 * 32 * ksteps * 4;
                    if (rep == 1)
                    {
                        Console.WriteLine($"{isa,-12} wall {ops / wall / 1e9,6:F0} GOP/s   cpu-time {ops / cpu / 1e9,6:F0} GOP/s");
                    }
                }
            }
        }
        if (DSConvIsaSupport.IsSupported(DSConvIsa.Avx2))
        {
            WidthVariants(a, blocks, steps, panels, iterations / 4);
        }
        return 0;
    }

    /// <summary>
    /// The AVX2 kernels per weight width on the same tile, in real MACs per CPU-second, as the engine runs them:
    /// 4–7 bits on <see cref="Avx2Kernel"/> (int16 steps 8, 4, 2, 1; 6 and 7 bits on <see cref="Avx2OneStepKernel"/>),
    /// 8 bits on <see cref="Avx2WideKernel"/>, and the nibble split 8-bit weights had before (twice the blocks);
    /// "4-bit folded" is <see cref="Avx2FoldedKernel"/>, which the engine runs for 4-bit weights with blocks up to 60 channels.
    /// </summary>
    private static void WidthVariants(byte[] a, int blocks, int steps, int panels, int iters)
    {
        var ksteps = blocks * steps;
        var s = GC.AllocateArray<float>(2 * blocks * 32, pinned: true);
        var xi = GC.AllocateArray<float>(2 * panels * blocks * 4, pinned: true);
        var corr = GC.AllocateArray<int>(2 * panels * blocks * 4, pinned: true);
        var aOff = GC.AllocateArray<int>(2 * ksteps, pinned: true);
        var sOff = GC.AllocateArray<int>(2 * blocks, pinned: true);
        var c = GC.AllocateArray<float>(128, pinned: true);
        var q = GC.AllocateArray<sbyte>(2 * panels * ksteps * 16, pinned: true);
        new Random(2).NextBytes((byte[])(Array)q);
        Array.Fill(s, 0.01f);
        Array.Fill(xi, 0.5f);
        for (var kb = 0; kb < 2 * blocks; kb++)
        {
            // Nibble split: virtual block 2·kb + h reads source block kb.
            sOff[kb] = kb * 32;
            for (var st = 0; st < steps; st++)
            {
                aOff[kb * steps + st] = (kb * steps + st) * 128;
            }
        }
        // Folded: accumulators start at −offset·Σq (any values do for timing), steps reached by stride (128 bytes here).
        var pairs = GC.AllocateArray<int>(2 * panels * blocks * 4, pinned: true);
        var splitOff = GC.AllocateArray<int>(2 * ksteps, pinned: true);
        var splitSOff = GC.AllocateArray<int>(2 * blocks, pinned: true);
        for (var kb = 0; kb < 2 * blocks; kb++)
        {
            splitSOff[kb] = kb / 2 * 32;
            for (var st = 0; st < steps; st++)
            {
                splitOff[kb * steps + st] = (kb / 2 * steps + st) * 128;
            }
        }
        fixed (byte* pa = a)
        fixed (sbyte* pq = q)
        fixed (float* ps = s, pxi = xi, pc = c)
        fixed (int* pcorr = corr, pao = aOff, pso = sOff, psplit = splitOff, pssplit = splitSOff, ppairs = pairs)
        {
            var t = new TileArgs { A = pa, AOffsets = pao, S = ps, SOffsets = pso, KBlocks = blocks, StepsPerBlock = steps, C = pc };
            (string Name, int KBlocks, int Int16Steps, int QBytes, bool Split, bool Wide, bool Folded)[] variants =
            [
                ("Avx2 4-bit", blocks, 8, 16, false, false, false),
                ("Avx2 4-bit folded", blocks, 8, 16, false, false, true),
                ("Avx2 5-bit", blocks, 4, 16, false, false, false),
                ("Avx2 6-bit", blocks, 2, 16, false, false, false),
                ("Avx2 7-bit", blocks, 1, 16, false, false, false),
                ("Avx2 8-bit nibble split", 2 * blocks, 8, 16, true, false, false),
                ("Avx2Wide 8-bit", blocks, 1, 32, false, true, false),
            ];
            foreach (var v in variants)
            {
                t.KBlocks = v.KBlocks;
                t.Int16Steps = v.Int16Steps;
                t.AOffsets = v.Split ? psplit : pao;
                t.SOffsets = v.Split ? pssplit : pso;
                t.AStride = v.Folded ? 128 : 0;
                var panelBytes = v.KBlocks * steps * v.QBytes;
                for (var rep = 0; rep < 2; rep++)
                {
                    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    for (var it = 0; it < iters; it++)
                    {
                        for (var p = 0; p < panels; p++)
                        {
                            t.Q = pq + p * panelBytes;
                            t.Xi = pxi + p * v.KBlocks * 4;
                            t.Correction = pcorr + p * v.KBlocks * 4;
                            t.CorrectionPairs = v.Folded ? ppairs + p * v.KBlocks * 4 : null;
                            if (v.Wide)
                            {
                                Avx2WideKernel.Run(t);
                            }
                            else
                            {
                                Avx2Kernel.Run(t);
                            }
                        }
                    }
                    var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                    var macs = (double)iters * panels * 4 * 32 * ksteps * 4;
                    if (rep == 1)
                    {
                        Console.WriteLine($"{v.Name,-24} cpu-time {macs / cpu / 1e9,6:F1} GMAC/s (real MACs)");
                    }
                }
            }
        }
    }
}
