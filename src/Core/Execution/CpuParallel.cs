namespace DSConvService.Core.Execution;

/// <summary>Splits loop ranges over a fixed number of threads (the caller's thread takes the first part).</summary>
public static class CpuParallel
{
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
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
        {
            var start = (int)((long)count * p / parts);
            var end = (int)((long)count * (p + 1) / parts);
            body(start, end);
        });
    }
}
