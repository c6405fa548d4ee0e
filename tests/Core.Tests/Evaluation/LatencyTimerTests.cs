using DSConvService.Core.Evaluation;
using Xunit;

namespace DSConvService.Core.Tests.Evaluation;

public class LatencyTimerTests
{
    [Fact]
    public void Runs_The_Warmup_And_Timed_Calls_And_Honours_Cancellation()
    {
        var calls = 0;
        var ms = LatencyTimer.MedianMs(() => calls++, runs: 4, warmup: 2);
        Assert.Equal(6, calls);
        Assert.True(ms >= 0);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => LatencyTimer.MedianMs(() => { }, runs: 3, ct: cts.Token));
    }

    [Fact]
    public void The_Median_Ignores_One_Slow_Run()
    {
        var call = 0;
        // Four timed runs: three instant, one of ~50 ms; the median stays far below it.
        var ms = LatencyTimer.MedianMs(() =>
        {
            if (call++ == 2)
            {
                Thread.Sleep(50);
            }
        }, runs: 4, warmup: 0);
        Assert.True(ms < 25, $"median {ms} ms");
    }
}
