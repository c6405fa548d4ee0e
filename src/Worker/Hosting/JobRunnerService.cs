using System.Diagnostics;
using DSConvService.Core.Errors;
using System.Runtime;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Hosting;

/// <summary>
/// The worker loop: claims a job from the store, runs it in its own DI scope under a log scope with
/// the job id and the worker's name, keeps its lease alive, and records the outcome. A failure caused
/// by the input fails the job at once; any other is retried with backoff (Jobs:MaxAttempts). One
/// failing job never stops the loop; the store, not memory, is the source of truth.
/// </summary>
public sealed partial class JobRunnerService(
    IServiceScopeFactory scopes,
    IJobStore store,
    IOptions<JobRunnerOptions> options,
    ILogger<JobRunnerService> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);

    /// <summary>This process's worker identity in leases.</summary>
    public string WorkerId { get; } = options.Value.WorkerName is { Length: > 0 } name
        ? $"{name}:{Guid.NewGuid().ToString("N")[..8]}"
        : $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.RunWorker)
        {
            logger.WorkerDisabled();
            return;
        }
        await Task.Yield();
        logger.WorkerStarted(WorkerId, settings.Concurrency, settings.LeaseDuration);
        var slots = Enumerable.Range(0, settings.Concurrency).Select(_ => RunSlotAsync(settings, stoppingToken));
        await Task.WhenAll(slots);
    }

    private async Task RunSlotAsync(JobRunnerOptions settings, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var job = await store.ClaimNextAsync(WorkerId, settings.LeaseDuration, settings.MaxAttempts, stoppingToken);
                if (job is null)
                {
                    await Task.Delay(settings.PollInterval, stoppingToken);
                    continue;
                }
                await RunJobAsync(job, settings, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LoopError(e);
                try
                {
                    await Task.Delay(settings.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task RunJobAsync(Job job, JobRunnerOptions settings, CancellationToken stoppingToken)
    {
        using var logScope = logger.BeginScope(new JobLogScope(job.Id, WorkerId));
        logger.JobClaimed(job.Attempts);
        ServiceMetrics.JobAttempts.Inc();
        using var jobCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var lease = new LeaseKeeper(store, job.Id, WorkerId, settings, jobCts);
        var keeper = lease.RunAsync();
        var clock = Stopwatch.StartNew();
        var outcome = "released";
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var pipeline = scope.ServiceProvider.GetRequiredService<QuantizationPipeline>();
            var result = await pipeline.RunAsync(job, lease, jobCts.Token);
            await lease.StopAsync(keeper);
            // A job shorter than a tick is never sampled while it runs: its peak is checked once more here.
            lease.CheckMemory();
            if (lease.MemoryExceeded is { } over)
            {
                outcome = await FailOverBudgetAsync(job, over, settings);
            }
            else if (await Persist(() => store.MarkSucceededAsync(job.Id, WorkerId, result.ReportJson, result.Artifact.Sha256, result.Artifact.Bytes, CancellationToken.None)))
            {
                outcome = "succeeded";
                logger.JobSucceeded(clock.Elapsed.TotalSeconds);
            }
            else
            {
                outcome = "lease_lost";
                logger.LeaseLost();
            }
        }
        catch (OperationCanceledException) when (jobCts.IsCancellationRequested)
        {
            await lease.StopAsync(keeper);
            if (lease.MemoryExceeded is { } grown)
            {
                outcome = await FailOverBudgetAsync(job, grown, settings);
            }
            else if (lease.CancelRequested)
            {
                outcome = "cancelled";
                await Persist(() => store.MarkCancelledAsync(job.Id, WorkerId, CancellationToken.None));
                logger.JobCancelled();
            }
            else if (lease.Lost)
            {
                outcome = "lease_lost";
                logger.LeaseLost();
            }
            else
            {
                await Persist(() => store.ReleaseAsync(job.Id, WorkerId, CancellationToken.None));
                logger.JobReleased();
            }
        }
        catch (Exception e)
        {
            await lease.StopAsync(keeper);
            if (FailureClassifier.IsUserError(e))
            {
                outcome = "failed";
                logger.JobFailed(e.Message);
                await Persist(() => store.MarkFailedAsync(job.Id, WorkerId, e.Message, CancellationToken.None));
            }
            else
            {
                var reason = Describe(e);
                var delay = Backoff(settings.RetryBackoff, job.Attempts);
                var retried = await Persist(() => store.RetryLaterAsync(job.Id, WorkerId, reason, delay, settings.MaxAttempts, CancellationToken.None));
                outcome = retried == RetryOutcome.Requeued ? "retried" : "failed";
                logger.JobRetried(e, job.Attempts, settings.MaxAttempts, retried == RetryOutcome.Requeued ? delay : TimeSpan.Zero);
            }
        }
        finally
        {
            ServiceMetrics.JobsFinished.WithLabels(outcome).Inc();
            ServiceMetrics.JobDuration.WithLabels(outcome).Observe(clock.Elapsed.TotalSeconds);
            ReleaseMemory();
        }
    }

    /// <summary>A job that grew beyond Jobs:MaxJobMemoryBytes fails for good with the reason (retrying could not help).</summary>
    private async Task<string> FailOverBudgetAsync(Job job, long grown, JobRunnerOptions settings)
    {
        var reason = new JobMemoryBudgetException(grown, settings.MaxJobMemoryBytes).Message;
        logger.JobFailed(reason);
        await Persist(() => store.MarkFailedAsync(job.Id, WorkerId, reason, CancellationToken.None));
        return "failed";
    }

    /// <summary>What a person reads about a fault that was not the input's: the kind of fault, never a server path.</summary>
    private static string Describe(Exception e) =>
        StorageFaults.IsDiskFull(e)
            ? "The service's storage was full while the job ran."
            : $"Internal error while running the job ({e.GetType().Name}: {QuotedPaths().Replace(e.Message, "'…'")}).";

    [System.Text.RegularExpressions.GeneratedRegex("'[^']*'")]
    private static partial System.Text.RegularExpressions.Regex QuotedPaths();

    private static TimeSpan Backoff(TimeSpan first, int attempt)
    {
        var factor = Math.Pow(2, Math.Clamp(attempt - 1, 0, 16));
        var delay = TimeSpan.FromTicks((long)Math.Min(first.Ticks * factor, MaxBackoff.Ticks));
        return delay;
    }

    /// <summary>
    /// Writes the outcome, retrying for a while when the database is briefly away (a restart): the
    /// lease keeps the job safe meanwhile, and giving up only leaves it for another worker to redo.
    /// </summary>
    private async Task<T> Persist<T>(Func<Task<T>> write)
    {
        var wait = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (Exception e) when (attempt < 8 && e is System.Data.Common.DbException or IOException or TimeoutException or InvalidOperationException)
            {
                logger.StoreRetry(e.Message);
                await Task.Delay(wait);
                wait *= 2;
            }
        }
    }

    /// <summary>A job's buffers are large and short-lived: give the memory back to the system now rather than at the next collection.</summary>
    private static void ReleaseMemory()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>
    /// Renews the lease and writes progress in the background while a job runs; cancels the job when
    /// a client asked for it (seen within a tick), when the lease was taken by another worker, or when
    /// the process grew beyond the job memory budget.
    /// </summary>
    private sealed class LeaseKeeper(IJobStore store, string jobId, string workerId, JobRunnerOptions settings, CancellationTokenSource jobCts)
        : IJobProgress
    {
        private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
        private readonly CancellationTokenSource _stop = new();
        private readonly Lock _gate = new();
        private readonly long _baseline = Environment.WorkingSet;
        private readonly long _peakAtStart = PeakWorkingSet();
        private readonly Stopwatch _stageClock = Stopwatch.StartNew();
        private (string Stage, double Progress)? _pending;
        private string? _stage;

        public bool CancelRequested { get; private set; }
        public bool Lost { get; private set; }
        public long? MemoryExceeded { get; private set; }

        public void Report(string stage, double progress)
        {
            lock (_gate)
            {
                _pending = (stage, progress);
                if (stage != _stage)
                {
                    if (_stage is not null)
                    {
                        ServiceMetrics.StageDuration.WithLabels(_stage).Observe(_stageClock.Elapsed.TotalSeconds);
                    }
                    _stage = stage;
                    _stageClock.Restart();
                }
            }
        }

        public async Task StopAsync(Task keeper)
        {
            await _stop.CancelAsync();
            await keeper;
        }

        public async Task RunAsync()
        {
            var lastBeat = Stopwatch.StartNew();
            var tick = settings.HeartbeatInterval < Tick ? settings.HeartbeatInterval : Tick;
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(tick, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                CheckMemory();
                try
                {
                    (string Stage, double Progress)? pending;
                    lock (_gate)
                    {
                        pending = _pending;
                        _pending = null;
                    }
                    if (lastBeat.Elapsed >= settings.HeartbeatInterval)
                    {
                        lastBeat.Restart();
                        Apply(await store.HeartbeatAsync(jobId, workerId, settings.LeaseDuration, CancellationToken.None));
                    }
                    else if (pending is null)
                    {
                        // A cheap read each tick: a client's cancel acts within a fraction of a second.
                        Apply(await store.CheckLeaseAsync(jobId, workerId, CancellationToken.None));
                    }
                    if (pending is { } p)
                    {
                        Apply(await store.UpdateProgressAsync(jobId, workerId, p.Stage, p.Progress, CancellationToken.None));
                    }
                }
                catch (Exception)
                {
                    // A failed heartbeat is retried on the next tick; the lease covers several of them.
                }
            }
        }

        /// <summary>
        /// The growth since the job started: the working set now, or the process's peak when the job raised it (a peak
        /// between two ticks, freed again by the next one, is seen too).
        /// </summary>
        public void CheckMemory()
        {
            if (settings.MaxJobMemoryBytes <= 0 || MemoryExceeded is not null)
            {
                return;
            }
            var peak = PeakWorkingSet();
            var grown = Math.Max(Environment.WorkingSet, peak > _peakAtStart ? peak : 0) - _baseline;
            if (grown > settings.MaxJobMemoryBytes)
            {
                MemoryExceeded = grown;
                jobCts.Cancel();
            }
        }

        private static long PeakWorkingSet()
        {
            using var self = Process.GetCurrentProcess();
            return self.PeakWorkingSet64;
        }

        private void Apply(LeaseState state)
        {
            if (!state.Held)
            {
                Lost = true;
                jobCts.Cancel();
            }
            else if (state.CancelRequested)
            {
                CancelRequested = true;
                jobCts.Cancel();
            }
        }
    }
}
