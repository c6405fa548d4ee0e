using System.Diagnostics;
using DSConvService.Core.Threading;

namespace DSConvService.Bench;

/// <summary>
/// `forkjoin`: what two threads give on short loops the way an inference issues them: bursts of two-chunk loops
/// (each chunk a fixed amount of arithmetic) with an idle gap between bursts, as between requests or between the
/// engines of the suite's rounds. Prints the median and 90th percentile of a burst, the same work on one thread, and
/// how many loops the caller ran alone (the helper never took its chunk). Compare helper pinning on and off in two
/// processes: `DSCONV_PIN_HELPERS=0` (a helper unpinned in one process keeps the placement the other left behind).
/// Options: --work-us W (one chunk, default 20), --gap-us G (default 3000), --loops L per burst (50), --bursts B (300).
/// </summary>
public static class ForkJoinBench
{
    private static readonly double[] Sink = new double[64];

    public static int Run(string[] args)
    {
        var workUs = 20;
        var gapUs = 3000;
        var loops = 50;
        var bursts = 300;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--work-us": workUs = int.Parse(args[i + 1]); break;
                case "--gap-us": gapUs = int.Parse(args[i + 1]); break;
                case "--loops": loops = int.Parse(args[i + 1]); break;
                case "--bursts": bursts = int.Parse(args[i + 1]); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        var iterations = Calibrate(workUs);
        var caller = Environment.CurrentManagedThreadId;
        var alone = 0L;
        var times = new double[bursts];
        for (var b = 0; b < bursts; b++)
        {
            var start = Stopwatch.GetTimestamp();
            for (var l = 0; l < loops; l++)
            {
                var helped = 0;
                CpuParallel.For(2, 2, (s, e) =>
                {
                    if (Environment.CurrentManagedThreadId != caller)
                    {
                        helped = 1;
                    }
                    for (var c = s; c < e; c++)
                    {
                        Work(c, iterations);
                    }
                });
                alone += 1 - helped;
            }
            times[b] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            if (gapUs > 0)
            {
                Thread.Sleep(TimeSpan.FromMicroseconds(gapUs));
            }
        }
        var one = Stopwatch.GetTimestamp();
        for (var l = 0; l < loops; l++)
        {
            Work(0, iterations);
            Work(1, iterations);
        }
        var oneUs = Stopwatch.GetElapsedTime(one).TotalMicroseconds;
        Array.Sort(times);
        Console.WriteLine($"CPU: {SuiteModels.CpuModel()}; helpers pinned: {CpuParallel.PinHelpers} (placements {CpuParallel.HelperPlacements})");
        Console.WriteLine($"{bursts} bursts of {loops} two-chunk loops, {workUs} µs per chunk, {gapUs} µs idle between bursts");
        Console.WriteLine($"burst median {times[bursts / 2]:F0} µs, 90th percentile {times[bursts * 9 / 10]:F0} µs; one thread {oneUs:F0} µs "
            + $"(two threads / one at the median {times[bursts / 2] / oneUs:F2}); loops the caller ran alone {alone} of {(long)bursts * loops}");
        return 0;
    }

    private static int Calibrate(int workUs)
    {
        var iterations = 1000;
        Work(0, iterations);
        while (true)
        {
            var start = Stopwatch.GetTimestamp();
            Work(0, iterations);
            var us = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            if (us > 200)
            {
                return Math.Max(1, (int)(iterations * workUs / us));
            }
            iterations *= 2;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization | System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Work(int slot, int iterations)
    {
        var s = 0.0;
        for (var k = 0; k < iterations; k++)
        {
            s += Math.Sqrt(k + slot);
        }
        Sink[slot * 8] = s;
    }
}
