using System.Diagnostics;
using DSConvService.Core.Errors;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Hosting;

/// <summary>
/// The worker loop: claims a job from the store, runs it in its own DI scope under a job-id log
/// scope, keeps its lease alive, and records the outcome. One failing job never stops the loop;
/// the store, not memory, is the source of truth.
/// </summary>
public sealed class JobRunnerService(
    IServiceScopeFactory scopes,
    IJobStore store,
    IOptions<JobRunnerOptions> options,
    ILogger<JobRunnerService> logger) : BackgroundService
{
    /// <summary>This process's worker identity in leases.</summary>
    public string WorkerId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";

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
        using var logScope = logger.BeginScope(new JobLogScope(job.Id));
        logger.JobClaimed(job.Attempts);
        using var jobCts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var lease = new LeaseKeeper(store, job.Id, WorkerId, settings, jobCts);
        var keeper = lease.RunAsync();
        var clock = Stopwatch.StartNew();
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var pipeline = scope.ServiceProvider.GetRequiredService<QuantizationPipeline>();
            var result = await pipeline.RunAsync(job, lease, jobCts.Token);
            lease.Stop();
            await keeper;
            if (await store.MarkSucceededAsync(job.Id, WorkerId, result.ReportJson, result.Artifact.Sha256, result.Artifact.Bytes, CancellationToken.None))
            {
                logger.JobSucceeded(clock.Elapsed.TotalSeconds);
            }
            else
            {
                logger.LeaseLost();
            }
        }
        catch (OperationCanceledException) when (jobCts.IsCancellationRequested)
        {
            lease.Stop();
            await keeper;
            if (lease.CancelRequested)
            {
                await store.MarkCancelledAsync(job.Id, WorkerId, CancellationToken.None);
                logger.JobCancelled();
            }
            else if (lease.Lost)
            {
                logger.LeaseLost();
            }
            else
            {
                await store.ReleaseAsync(job.Id, WorkerId, CancellationToken.None);
                logger.JobReleased();
            }
        }
        catch (Exception e)
        {
            lease.Stop();
            await keeper;
            var reason = Describe(e);
            if (reason is null)
            {
                logger.JobCrashed(e);
                reason = $"Internal error while running the job ({e.GetType().Name}: {e.Message}).";
            }
            else
            {
                logger.JobFailed(reason);
            }
            await store.MarkFailedAsync(job.Id, WorkerId, reason, CancellationToken.None);
        }
    }

    /// <summary>The message of a failure caused by the job's input (null for a fault of ours).</summary>
    private static string? Describe(Exception e) => e is InputException ? e.Message : null;

    /// <summary>
    /// Renews the lease and writes progress in the background while a job runs; cancels the job when
    /// a client asked for it or when the lease was taken by another worker.
    /// </summary>
    private sealed class LeaseKeeper(IJobStore store, string jobId, string workerId, JobRunnerOptions settings, CancellationTokenSource jobCts)
        : IJobProgress
    {
        private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
        private readonly CancellationTokenSource _stop = new();
        private readonly Lock _gate = new();
        private (string Stage, double Progress)? _pending;

        public bool CancelRequested { get; private set; }
        public bool Lost { get; private set; }

        public void Report(string stage, double progress)
        {
            lock (_gate)
            {
                _pending = (stage, progress);
            }
        }

        public void Stop() => _stop.Cancel();

        public async Task RunAsync()
        {
            var lastBeat = Stopwatch.StartNew();
            var tick = settings.HeartbeatInterval < ProgressInterval ? settings.HeartbeatInterval : ProgressInterval;
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
                try
                {
                    (string Stage, double Progress)? pending;
                    lock (_gate)
                    {
                        pending = _pending;
                        _pending = null;
                    }
                    if (pending is { } p)
                    {
                        Apply(await store.UpdateProgressAsync(jobId, workerId, p.Stage, p.Progress, CancellationToken.None));
                    }
                    if (lastBeat.Elapsed >= settings.HeartbeatInterval)
                    {
                        lastBeat.Restart();
                        Apply(await store.HeartbeatAsync(jobId, workerId, settings.LeaseDuration, CancellationToken.None));
                    }
                }
                catch (Exception)
                {
                    // A failed heartbeat is retried on the next tick; the lease covers several of them.
                }
            }
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
