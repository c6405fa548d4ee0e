using DSConvService.Core.Threading;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// A list of array-to-array copies (Concat, Split) run as one element range split evenly over the threads: one core
/// alone does not reach the memory bandwidth both reach (SqueezeNet's 128x55x55 Concat takes 0.13–0.16 ms on one).
/// </summary>
internal static class ParallelCopy
{
    /// <summary>
    /// Fewest elements split (512 KiB of floats): below it the copy is in L2 and a fork-join costs what it saves
    /// (ShuffleNet's 116x28x28 Concats, 2 threads: 0.090 → 0.103 ms at 2^16).
    /// </summary>
    public const int MinElements = 1 << 17;

    public readonly record struct Part(Array Source, long SourceAt, Array Target, long TargetAt, long Length);

    public static void Run(IReadOnlyList<Part> copies, int threads)
    {
        long total = 0;
        foreach (var c in copies)
        {
            total += c.Length;
        }
        var parts = total < MinElements ? 1 : Math.Max(1, threads);
        CpuParallel.For(parts, parts, (p0, p1) =>
        {
            for (var p = p0; p < p1; p++)
            {
                Copy(copies, total * p / parts, total * (p + 1) / parts);
            }
        });
    }

    // Elements [from, to) of the copies laid end to end.
    private static void Copy(IReadOnlyList<Part> copies, long from, long to)
    {
        long start = 0;
        foreach (var c in copies)
        {
            var end = start + c.Length;
            var a = Math.Max(from, start);
            var b = Math.Min(to, end);
            if (a < b)
            {
                Array.Copy(c.Source, c.SourceAt + a - start, c.Target, c.TargetAt + a - start, b - a);
            }
            if (end >= to)
            {
                return;
            }
            start = end;
        }
    }
}
