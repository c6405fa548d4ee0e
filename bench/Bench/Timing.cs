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
}
