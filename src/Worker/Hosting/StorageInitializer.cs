using DSConvService.Worker.Jobs;
using Microsoft.Extensions.Hosting;

namespace DSConvService.Worker.Hosting;

/// <summary>Creates the data directory and the database schema before anything else starts.</summary>
public sealed class StorageInitializer(IJobStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
