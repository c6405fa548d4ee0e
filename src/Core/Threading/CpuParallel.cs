namespace DSConvService.Core.Threading;

/// <summary>Splits loop ranges over a fixed number of threads (the caller's thread takes part of the work).</summary>
public static class CpuParallel
{
    /// <summary>How long idle helper threads spin before sleeping, in microseconds (benchmarks tune it).</summary>
    public static int SpinMicroseconds
    {
        get => ForkJoinPool.SpinMicroseconds;
        set => ForkJoinPool.SpinMicroseconds = value;
    }

    /// <summary>
    /// Whether the helper threads are pinned to CPUs other than the caller's (Linux; default on, or
    /// DSCONV_PIN_HELPERS=0): see <see cref="ForkJoinPool"/>.
    /// </summary>
    public static bool PinHelpers
    {
        get => ForkJoinPool.PinHelpers;
        set => ForkJoinPool.PinHelpers = value;
    }

    /// <summary>How often a helper was pinned to another CPU in this process.</summary>
    public static long HelperPlacements => ForkJoinPool.Placements;

    /// <summary>Runs body(start, end) over [0, count) in at most <paramref name="threads"/> contiguous chunks.</summary>
    public static void For(int count, int threads, Action<int, int> body)
    {
        if (count <= 0)
        {
            return;
        }
        var parts = Math.Min(Math.Max(threads, 1), count);
        if (parts == 1)
        {
            body(0, count);
            return;
        }
        // The persistent helpers serve one loop at a time; a concurrent or nested loop takes the thread pool.
        if (ForkJoinPool.Shared.TryRun(count, parts, body))
        {
            return;
        }
        try
        {
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
            {
                var (start, end) = Chunk(count, parts, p);
                body(start, end);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Callers see the same exception whichever path ran the loop.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    /// <summary>Bounds of chunk <paramref name="part"/> of <paramref name="parts"/> equal chunks of [0, count).</summary>
    internal static (int Start, int End) Chunk(int count, int parts, int part) =>
        ((int)((long)count * part / parts), (int)((long)count * (part + 1) / parts));
}
