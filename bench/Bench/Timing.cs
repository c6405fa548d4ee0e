using System.Diagnostics;

namespace DSConvService.Bench;

public static class Timing
{
    /// <summary>Runs <paramref name="action"/> warmup times untimed, then returns the median of <paramref name="runs"/> timed runs in ms.</summary>
    public static double MedianMs(Action action, int warmup, int runs)
    {
        for (var i = 0; i < warmup; i++)
        {
            action();
        }
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    }

    /// <summary>Like <see cref="MedianMs"/> but in CPU time of this process (meaningful for 1-thread runs).</summary>
    public static double MedianCpuMs(Action action, int warmup, int runs)
    {
        for (var i = 0; i < warmup; i++)
        {
            action();
        }
        var process = Process.GetCurrentProcess();
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            process.Refresh();
            var start = process.TotalProcessorTime;
            action();
            process.Refresh();
            times[i] = (process.TotalProcessorTime - start).TotalMilliseconds;
        }
        Array.Sort(times);
        return runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2;
    }

    /// <summary>Warm-up, then rounds of one run of each action; the smallest process CPU time per action in ms.</summary>
    public static double[] FastestCpu(BenchOptions o, params Action[] actions)
    {
        foreach (var a in actions)
        {
            for (var i = 0; i < o.Warmup; i++)
            {
                a();
            }
        }
        var best = actions.Select(_ => double.MaxValue).ToArray();
        for (var r = 0; r < o.Runs; r++)
        {
            for (var k = 0; k < actions.Length; k++)
            {
                var start = CpuClock.ProcessMs();
                actions[k]();
                best[k] = Math.Min(best[k], CpuClock.ProcessMs() - start);
            }
        }
        return best;
    }
}
