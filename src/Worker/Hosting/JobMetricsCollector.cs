using DSConvService.Worker.Jobs;
using Microsoft.Extensions.Hosting;

namespace DSConvService.Worker.Hosting;

/// <summary>Fills the jobs-by-status gauge (queued = queue depth) from the store each time metrics are scraped.</summary>
public sealed class JobMetricsCollector(IJobStore store) : IHostedService
{
    private volatile bool _stopped;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // The registry is process-wide and keeps callbacks for ever: a stopped host's store is not asked again.
        Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(async ct =>
        {
            if (_stopped)
            {
                return;
            }
            try
            {
                foreach (var (status, count) in await store.CountByStatusAsync(ct))
                {
                    ServiceMetrics.JobsByStatus.WithLabels(status.ToApiName()).Set(count);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The store is away: the gauge keeps its last values; /health/ready reports the cause.
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        return Task.CompletedTask;
    }
}
