using DSConvService.Worker.Blobs;
using DSConvService.Worker.Jobs;
using Prometheus;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DSConvService.Api.Extensions;

public static class HealthExtensions
{
    public static IHostApplicationBuilder AddHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks()
            .AddCheck<DatabaseCheck>("database", tags: ["ready"])
            .AddCheck<StorageCheck>("storage", tags: ["ready"]);
        return builder;
    }

    /// <summary>
    /// /health/live: the process answers. /health/ready: the database and the data directory are writable.
    /// /metrics: Prometheus text format (jobs by status, durations, attempts, /infer latency and errors, cache hits).
    /// </summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapMetrics("/metrics").WithTags("Health").ExcludeFromDescription();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithTags("Health");
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready") }).WithTags("Health");
        return app;
    }

    private sealed class DatabaseCheck(IJobStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
        {
            try
            {
                await store.CheckHealthAsync(ct);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e)
            {
                return HealthCheckResult.Unhealthy("The job database cannot be written.", e);
            }
        }
    }

    private sealed class StorageCheck(IBlobStore blobs) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
        {
            try
            {
                await blobs.CheckWritableAsync(ct);
                return HealthCheckResult.Healthy();
            }
            catch (Exception e)
            {
                return HealthCheckResult.Unhealthy("The blob storage (data directory or database) is not writable.", e);
            }
        }
    }
}
