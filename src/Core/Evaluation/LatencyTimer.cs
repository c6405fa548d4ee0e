using System.Diagnostics;

namespace DSConvService.Core.Evaluation;

/// <summary>How every latency figure of the product is taken: warm-up runs, then the median wall time of the timed runs.</summary>
public static class LatencyTimer
{
    /// <summary>Median milliseconds of <paramref name="runs"/> timed calls after <paramref name="warmup"/> untimed ones.</summary>
    public static double MedianMs(Action run, int runs, int warmup = 1, CancellationToken ct = default)
    {
        for (var i = 0; i < warmup; i++)
        {
            run();
        }
        var times = new double[Math.Max(runs, 1)];
        for (var i = 0; i < times.Length; i++)
        {
            ct.ThrowIfCancellationRequested();
            var start = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        var n = times.Length;
        return n % 2 == 1 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    }
}
