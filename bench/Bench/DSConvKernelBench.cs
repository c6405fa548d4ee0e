using System.Diagnostics;
using DSConvService.Core.Kernels.DSConv;

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
        return 0;
    }
}
