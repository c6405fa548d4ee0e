using Microsoft.Extensions.Logging;

namespace DSConvService.Worker.Hosting;

/// <summary>The worker's log messages, source-generated.</summary>
internal static partial class WorkerLog
{
    [LoggerMessage(1, LogLevel.Information, "Worker {WorkerId} started ({Concurrency} slot(s), lease {Lease})")]
    public static partial void WorkerStarted(this ILogger logger, string workerId, int concurrency, TimeSpan lease);

    [LoggerMessage(2, LogLevel.Information, "Job claimed (attempt {Attempt})")]
    public static partial void JobClaimed(this ILogger logger, int attempt);

    [LoggerMessage(3, LogLevel.Information, "Job succeeded in {Seconds:F1} s")]
    public static partial void JobSucceeded(this ILogger logger, double seconds);

    [LoggerMessage(4, LogLevel.Warning, "Job failed: {Reason}")]
    public static partial void JobFailed(this ILogger logger, string reason);

    [LoggerMessage(6, LogLevel.Information, "Job cancelled on request")]
    public static partial void JobCancelled(this ILogger logger);

    [LoggerMessage(7, LogLevel.Warning, "Job lease lost to another worker; abandoning this run")]
    public static partial void LeaseLost(this ILogger logger);

    [LoggerMessage(8, LogLevel.Information, "Shutting down: job released for another worker")]
    public static partial void JobReleased(this ILogger logger);

    [LoggerMessage(9, LogLevel.Error, "The worker loop hit an error; retrying")]
    public static partial void LoopError(this ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Information, "The in-process worker is off (Jobs:RunWorker = false)")]
    public static partial void WorkerDisabled(this ILogger logger);

    [LoggerMessage(11, LogLevel.Error, "Job attempt {Attempt} of {MaxAttempts} failed with a fault that is not its input's; queued again after {Delay} (zero: no attempts left, failed)")]
    public static partial void JobRetried(this ILogger logger, Exception exception, int attempt, int maxAttempts, TimeSpan delay);

    [LoggerMessage(12, LogLevel.Warning, "Writing the job's state failed ({Reason}); retrying")]
    public static partial void StoreRetry(this ILogger logger, string reason);

    [LoggerMessage(13, LogLevel.Information, "Sweeper removed {Orphans} orphaned job folder(s)/file(s) and {Temps} stale temp file(s)")]
    public static partial void Swept(this ILogger logger, int orphans, int temps);

    [LoggerMessage(14, LogLevel.Warning, "The sweeper hit an error; it tries again next period")]
    public static partial void SweepFailed(this ILogger logger, Exception exception);
}
