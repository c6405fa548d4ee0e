using DSConvService.Core.Execution;
using DSConvService.Core.Threading;
using Xunit;

namespace DSConvService.Core.Tests.Executor;

/// <summary>The fork-join behind every parallel kernel: each index exactly once, under nesting, concurrency and exceptions.</summary>
public class CpuParallelTests
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(1000, 2)]
    [InlineData(7, 3)]
    [InlineData(5, 8)]
    [InlineData(100, 1)]
    public void Every_Index_Is_Visited_Once_In_Contiguous_Chunks(int count, int threads)
    {
        var hits = new int[count];
        var chunks = 0;
        for (var repeat = 0; repeat < 50; repeat++)
        {
            Array.Clear(hits);
            chunks = 0;
            CpuParallel.For(count, threads, (start, end) =>
            {
                Interlocked.Increment(ref chunks);
                for (var i = start; i < end; i++)
                {
                    Interlocked.Increment(ref hits[i]);
                }
            });
            Assert.All(hits, h => Assert.Equal(1, h));
            Assert.Equal(Math.Min(count, threads), chunks);
        }
    }

    [Fact]
    public void Nested_Loops_Complete()
    {
        var total = 0;
        CpuParallel.For(4, 2, (s, e) =>
        {
            for (var i = s; i < e; i++)
            {
                CpuParallel.For(10, 2, (a, b) => Interlocked.Add(ref total, b - a));
            }
        });
        Assert.Equal(40, total);
    }

    [Fact]
    public void Concurrent_Callers_Each_Get_Their_Own_Work_Done()
    {
        var sums = new long[6];
        Parallel.For(0, sums.Length, new ParallelOptions { MaxDegreeOfParallelism = sums.Length }, caller =>
        {
            for (var repeat = 0; repeat < 200; repeat++)
            {
                CpuParallel.For(100, 2, (s, e) =>
                {
                    for (var i = s; i < e; i++)
                    {
                        Interlocked.Add(ref sums[caller], i);
                    }
                });
            }
        });
        Assert.All(sums, s => Assert.Equal(200L * 4950, s));
    }

    [Fact]
    public void An_Exception_In_Any_Chunk_Reaches_The_Caller_And_The_Pool_Stays_Usable()
    {
        for (var failing = 0; failing < 2; failing++)
        {
            var part = failing;
            var e = Assert.Throws<InvalidOperationException>(() => CpuParallel.For(2, 2, (s, _) =>
            {
                if (s == part)
                {
                    throw new InvalidOperationException("chunk " + part);
                }
            }));
            Assert.Equal("chunk " + part, e.Message);
        }
        var visited = 0;
        CpuParallel.For(10, 2, (s, e) => Interlocked.Add(ref visited, e - s));
        Assert.Equal(10, visited);
    }

    [Fact]
    public void An_Exception_In_A_Nested_Loop_Reaches_The_Caller_Unwrapped()
    {
        // The inner loop finds the helper pool busy with the outer one and takes the thread-pool path.
        var e = Assert.Throws<InvalidOperationException>(() => CpuParallel.For(2, 2, (_, _) =>
            CpuParallel.For(2, 2, (s, _) =>
            {
                if (s == 1)
                {
                    throw new InvalidOperationException("inner");
                }
            })));
        Assert.Equal("inner", e.Message);
    }
}
