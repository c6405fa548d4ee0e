using DSConvService.Core.Threading;
using Xunit;

namespace DSConvService.Core.Tests.Executor;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HelperPlacementCollection
{
    public const string Name = "Fork-join helper placement (alone: other tests' loops move the helpers)";
}

/// <summary>
/// The fork-join helpers are pinned to CPUs other than the caller's (Linux), so a VM kernel that packs a woken
/// thread onto its waker's CPU cannot make the two share one CPU.
/// </summary>
[Collection(HelperPlacementCollection.Name)]
public class HelperPlacementTests
{
    [SkippableFact]
    public void A_Thread_Can_Be_Pinned_To_One_Cpu_And_Given_Its_Cpus_Back()
    {
        Skip.IfNot(ThreadPlacement.Supported, "Thread placement needs Linux and its C library.");
        var allowed = ThreadPlacement.AllowedCpus();
        Assert.NotEmpty(allowed);
        int[] pinned = [], restored = [];
        var ranOn = -1;
        RunOnNewThread(() =>
        {
            var tid = ThreadPlacement.CurrentThreadId();
            Assert.True(ThreadPlacement.Pin(tid, allowed[^1]));
            pinned = ThreadPlacement.AllowedCpus(tid);
            Thread.Yield();
            ranOn = ThreadPlacement.CurrentCpu();
            Assert.True(ThreadPlacement.Allow(tid, allowed));
            restored = ThreadPlacement.AllowedCpus(tid);
        });
        Assert.Equal([allowed[^1]], pinned);
        Assert.Equal(allowed[^1], ranOn);
        Assert.Equal(allowed, restored);
        Assert.False(ThreadPlacement.Pin(0, allowed[0]));
        Assert.False(ThreadPlacement.Pin(ThreadPlacement.CurrentThreadId(), -1));
    }

    [SkippableFact]
    public void Helpers_Are_Pinned_To_Another_Cpu_Than_The_Callers_And_Follow_The_Caller()
    {
        Skip.IfNot(ThreadPlacement.Supported, "Thread placement needs Linux and its C library.");
        var allowed = ThreadPlacement.AllowedCpus();
        Skip.If(allowed.Length < 2 || Environment.ProcessorCount < 2, "Needs two CPUs.");
        Assert.True(CpuParallel.PinHelpers);
        foreach (var callerCpu in new[] { allowed[0], allowed[1], allowed[0] })
        {
            int[] helperCpus = [];
            RunOnNewThread(() =>
            {
                Assert.True(ThreadPlacement.Pin(ThreadPlacement.CurrentThreadId(), callerCpu));
                var helper = HelperThreadId();
                helperCpus = ThreadPlacement.AllowedCpus(helper);
            });
            var cpu = Assert.Single(helperCpus);
            Assert.NotEqual(callerCpu, cpu);
            Assert.Contains(cpu, allowed);
        }
    }

    [SkippableFact]
    public void Turning_Pinning_Off_Gives_The_Helpers_Every_Cpu_Back()
    {
        Skip.IfNot(ThreadPlacement.Supported, "Thread placement needs Linux and its C library.");
        var allowed = ThreadPlacement.AllowedCpus();
        Skip.If(allowed.Length < 2 || Environment.ProcessorCount < 2, "Needs two CPUs.");
        int[] whileOff = [], afterOn = [];
        try
        {
            RunOnNewThread(() =>
            {
                Assert.True(ThreadPlacement.Pin(ThreadPlacement.CurrentThreadId(), allowed[0]));
                HelperThreadId();
                CpuParallel.PinHelpers = false;
                whileOff = ThreadPlacement.AllowedCpus(HelperThreadId());
                CpuParallel.PinHelpers = true;
                afterOn = ThreadPlacement.AllowedCpus(HelperThreadId());
            });
        }
        finally
        {
            CpuParallel.PinHelpers = true;
        }
        Assert.Equal(allowed, whileOff);
        Assert.NotEqual(allowed[0], Assert.Single(afterOn));
    }

    [Fact]
    public void Helper_Cpus_Follow_The_Caller_Through_The_Allowed_Set()
    {
        int[] allowed = [0, 1, 2, 3, 8, 9];
        Assert.Equal([9, 0, 1], ForkJoinPool.HelperCpus(allowed, 8, 3));
        Assert.Equal([0], ForkJoinPool.HelperCpus(allowed, 9, 1));
        Assert.Equal([1, 2, 3, 8, 9, 1], ForkJoinPool.HelperCpus(allowed, 0, 6));
        // A caller outside the set (its own affinity narrower or different): the set in order.
        Assert.Equal([0, 1], ForkJoinPool.HelperCpus(allowed, 5, 2));
        Assert.Equal([1], ForkJoinPool.HelperCpus([0, 1], 0, 1));
        Assert.Equal([0], ForkJoinPool.HelperCpus([0, 1], 1, 1));
    }

    /// <summary>Runs two-chunk loops until a helper takes a chunk (the caller may take both when a helper is slow to wake).</summary>
    private static int HelperThreadId()
    {
        var caller = Environment.CurrentManagedThreadId;
        var helper = 0;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (helper == 0 && DateTime.UtcNow < deadline)
        {
            CpuParallel.For(2, 2, (_, _) =>
            {
                if (Environment.CurrentManagedThreadId != caller)
                {
                    Volatile.Write(ref helper, ThreadPlacement.CurrentThreadId());
                }
                else
                {
                    // Leave the helper time to claim the second chunk.
                    Thread.SpinWait(20_000);
                }
            });
        }
        Assert.NotEqual(0, helper);
        return helper;
    }

    private static void RunOnNewThread(Action body)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        if (error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        }
    }
}
