using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Worker.Jobs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Hosting;

/// <summary>
/// Removes what crashes leave behind, at start and then every Storage:SweepInterval: job files whose
/// job row does not exist (a submission killed before its row was written, a delete interrupted
/// half-way) and temp files of interrupted writes. Only things older than Storage:OrphanGracePeriod
/// are touched, so a submission still uploading is never swept.
/// </summary>
public sealed class OrphanSweeper(IBlobStore blobs, IJobStore store, DiskReserve reserve, IOptions<StorageOptions> options, TimeProvider clock, ILogger<OrphanSweeper> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.SweepFailed(e);
            }
            try
            {
                await Task.Delay(settings.SweepInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One sweep; returns (orphaned jobs removed, temp files removed).</summary>
    public async Task<(int Orphans, int Temps)> SweepAsync(CancellationToken ct)
    {
        var grace = options.Value.OrphanGracePeriod;
        var now = clock.GetUtcNow().UtcDateTime;
        var orphans = 0;
        foreach (var (jobId, lastWrite) in await blobs.StoredJobsAsync(ct))
        {
            ct.ThrowIfCancellationRequested();
            if (now - lastWrite < grace || !FileStore.IsValidJobId(jobId) || await store.ExistsAsync(jobId, ct))
            {
                continue;
            }
            await blobs.DeleteJobAsync(jobId, ct);
            orphans++;
        }
        var temps = await blobs.DeleteStaleWritesAsync(grace, now, ct);
        reserve.Ensure();
        if (orphans + temps > 0)
        {
            logger.Swept(orphans, temps);
        }
        return (orphans, temps);
    }
}
