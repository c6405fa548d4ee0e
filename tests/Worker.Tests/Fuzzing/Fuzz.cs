using System.Diagnostics;
using CsCheck;
using DSConvService.Core.Errors;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Worker.Tests.Fuzzing;

/// <summary>
/// Runs a reader of untrusted bytes on many mutated inputs: it may accept an input or refuse it with
/// the input-error family (<see cref="InputException"/>); any other exception, an input that takes
/// longer than <paramref name="maxEach"/>, or one that allocates more than <paramref name="maxAllocated"/>
/// fails the test (CsCheck then shrinks it and prints the seed). The whole run is bounded in time.
/// </summary>
internal static class Fuzz
{
    public static async Task RunAsync<T>(ITestOutputHelper output, Gen<T> inputs, Action<T> reader, int iterations, long maxAllocated, TimeSpan maxEach)
    {
        long accepted = 0, refused = 0, worstBytes = 0;
        var worst = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() => inputs.Sample(input =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var started = Stopwatch.GetTimestamp();
            try
            {
                reader(input);
                accepted++;
            }
            catch (InputException)
            {
                refused++;
            }
            var took = Stopwatch.GetElapsedTime(started);
            var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            worst = took > worst ? took : worst;
            worstBytes = Math.Max(worstBytes, bytes);
            if (took > maxEach)
            {
                throw new TimeoutException($"one input took {took.TotalSeconds:F1} s (limit {maxEach.TotalSeconds} s)");
            }
            if (bytes > maxAllocated)
            {
                throw new InsufficientMemoryException($"one input allocated {bytes} bytes (limit {maxAllocated})");
            }
        }, iter: iterations, threads: 1));
        // A hang fails the test instead of stalling the run.
        await run.WaitAsync(TimeSpan.FromSeconds(90));
        output.WriteLine($"{iterations} mutated inputs in {clock.Elapsed.TotalSeconds:F1} s: {accepted} accepted, {refused} refused as input errors; " +
                         $"slowest {worst.TotalMilliseconds:F0} ms, most allocated {worstBytes / 1024.0 / 1024:F1} MiB");
        Assert.Equal(iterations, accepted + refused);
    }
}
