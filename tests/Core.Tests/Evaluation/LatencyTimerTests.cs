using DSConvService.Core.Evaluation;
using Xunit;

namespace DSConvService.Core.Tests.Evaluation;

public class LatencyTimerTests
{
    [Fact]
    public void Runs_The_Warmup_And_Timed_Calls_And_Honours_Cancellation()
    {
        var calls = 0;
        // Timed calls 2 and 3 (of 0..3) sleep 30 ms, the warm-up calls and the others do nothing: the median of an even
        // count is the mean of the middle two, 0 and ≥ 30, so ≥ 15 ms (the lower middle alone, or nothing timed, would be ~0).
        var ms = LatencyTimer.MedianMs(() =>
        {
            if (calls++ is 4 or 5)
            {
                Thread.Sleep(30);
            }
        }, runs: 4, warmup: 2);
        Assert.Equal(6, calls);
        Assert.True(ms >= 15, $"median {ms} ms");
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
