using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Bench;

/// <summary>
/// `dsconv peak`: the ceilings this machine offers a .NET kernel, measured on registers only (no loads, no
/// epilogue): the int16-accumulation sequence of the DSConv micro-kernel (vpmaddubsw + vpaddw, widened with
/// vpmaddwd every 8 steps) and the fp32 FMA. Each thread runs its own loop; GOP/s counts 2 ops per MAC.
/// The last line turns the int16 ceiling into the shortest possible ResNet18 time on 2 threads.
/// </summary>
public static class DSConvPeakBench
{
    /// <summary>Multiply-accumulates of the 22 convolutions of the NuGet ResNet18 at 224x224.</summary>
    private const double ResNet18Macs = 2_044_772_352;

    public static int Run(string[] args)
    {
        if (!Avx512BW.IsSupported)
        {
            Console.WriteLine("AVX-512BW is not supported here: no int16-accumulation ceiling to measure.");
            return 0;
        }
        const long iterations = 4_000_000;
        Console.WriteLine($"{Environment.ProcessorCount} logical CPUs; {iterations} iterations per thread, best of 3 passes");
        Console.WriteLine();
        Console.WriteLine("| Loop | 1 thread GOP/s | 2 threads GOP/s |");
        Console.WriteLine("| --- | ---: | ---: |");
        var int16 = Row("int16 accumulation (vpmaddubsw+vpaddw, widen every 8 steps)", iterations, 2.0 * 8 * 8 * 64, Int16Loop);
        Row("fp32 FMA, 16 accumulators", iterations, 2.0 * 8 * 16 * 16, FmaLoop);
        Console.WriteLine();
        Console.WriteLine($"ResNet18 ({ResNet18Macs / 1e9:F3} GMAC) with every MAC at the 2-thread int16 ceiling: {2 * ResNet18Macs / int16 * 1e3:F2} ms");
        return 0;
    }

    private static double Row(string name, long iterations, double opsPerIteration, Func<long, float> loop)
    {
        var one = Best(() => Measure(1, iterations, opsPerIteration, loop));
        var two = Best(() => Measure(2, iterations, opsPerIteration, loop));
        Console.WriteLine($"| {name} | {one / 1e9:F0} | {two / 1e9:F0} |");
        return two;
    }

    private static double Best(Func<double> measure) => Enumerable.Range(0, 3).Select(_ => measure()).Max();

    private static double Measure(int threads, long iterations, double opsPerIteration, Func<long, float> loop)
    {
        loop(1000);
        var sink = new float[threads];
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() => sink[t] = loop(iterations))).ToArray();
        foreach (var w in workers)
        {
            w.Start();
        }
        foreach (var w in workers)
        {
            w.Join();
        }
        var seconds = sw.Elapsed.TotalSeconds;
        GC.KeepAlive(sink);
        return threads * iterations * opsPerIteration / seconds;
    }

    /// <summary>Per iteration: 8 steps × 8 vpmaddubsw (4 rows × 2 pixel vectors, as the micro-kernel) + vpaddw, then 8 vpmaddwd.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Int16Loop(long iterations)
    {
        var a0 = Vector512.Create((byte)3);
        var a1 = Vector512.Create((byte)5);
        var a2 = Vector512.Create((byte)9);
        var w0 = Vector512.Create((sbyte)-2);
        var w1 = Vector512.Create((sbyte)1);
        var w2 = Vector512.Create((sbyte)7);
        var w3 = Vector512.Create((sbyte)-8);
        var ones = Vector512.Create((short)1);
        Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (var i = 0L; i < iterations; i++)
        {
            Vector512<short> h0 = default, h1 = default, h2 = default, h3 = default, h4 = default, h5 = default, h6 = default, h7 = default;
            for (var step = 0; step < 8; step++)
            {
                h0 += Avx512BW.MultiplyAddAdjacent(a0, w0);
                h1 += Avx512BW.MultiplyAddAdjacent(a1, w0);
                h2 += Avx512BW.MultiplyAddAdjacent(a0, w1);
                h3 += Avx512BW.MultiplyAddAdjacent(a1, w1);
                h4 += Avx512BW.MultiplyAddAdjacent(a0, w2);
                h5 += Avx512BW.MultiplyAddAdjacent(a1, w2);
                h6 += Avx512BW.MultiplyAddAdjacent(a0, w3);
                h7 += Avx512BW.MultiplyAddAdjacent(a1, w3);
                // Rotate the activation registers (register moves, no ALU work) so that no product is
                // loop-invariant: otherwise the JIT hoists the multiplies and only the adds are measured.
                (a0, a1, a2) = (a1, a2, a0);
            }
            s0 += Avx512BW.MultiplyAddAdjacent(h0, ones);
            s1 += Avx512BW.MultiplyAddAdjacent(h1, ones);
            s2 += Avx512BW.MultiplyAddAdjacent(h2, ones);
            s3 += Avx512BW.MultiplyAddAdjacent(h3, ones);
            s4 += Avx512BW.MultiplyAddAdjacent(h4, ones);
            s5 += Avx512BW.MultiplyAddAdjacent(h5, ones);
            s6 += Avx512BW.MultiplyAddAdjacent(h6, ones);
            s7 += Avx512BW.MultiplyAddAdjacent(h7, ones);
        }
        return Vector512.Sum(Vector512.ConvertToSingle(s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7));
    }

    /// <summary>Per iteration: 8 rounds of 16 independent FMAs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float FmaLoop(long iterations)
    {
        var x = Vector512.Create(0.999f);
        var y = Vector512.Create(1e-7f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        for (var i = 0L; i < iterations; i++)
        {
            for (var r = 0; r < 8; r++)
            {
                c0 = Avx512F.FusedMultiplyAdd(c0, x, y);
                c1 = Avx512F.FusedMultiplyAdd(c1, x, y);
                c2 = Avx512F.FusedMultiplyAdd(c2, x, y);
                c3 = Avx512F.FusedMultiplyAdd(c3, x, y);
                c4 = Avx512F.FusedMultiplyAdd(c4, x, y);
                c5 = Avx512F.FusedMultiplyAdd(c5, x, y);
                c6 = Avx512F.FusedMultiplyAdd(c6, x, y);
                c7 = Avx512F.FusedMultiplyAdd(c7, x, y);
                c8 = Avx512F.FusedMultiplyAdd(c8, x, y);
                c9 = Avx512F.FusedMultiplyAdd(c9, x, y);
                c10 = Avx512F.FusedMultiplyAdd(c10, x, y);
                c11 = Avx512F.FusedMultiplyAdd(c11, x, y);
                c12 = Avx512F.FusedMultiplyAdd(c12, x, y);
                c13 = Avx512F.FusedMultiplyAdd(c13, x, y);
                c14 = Avx512F.FusedMultiplyAdd(c14, x, y);
                c15 = Avx512F.FusedMultiplyAdd(c15, x, y);
            }
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11 + c12 + c13 + c14 + c15);
    }
}
