using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Worker.Jobs;
using Microsoft.Extensions.Hosting;

namespace DSConvService.Worker.Hosting;

/// <summary>Creates the data directory, the job schema and the blob store's tables before anything else starts.</summary>
public sealed class StorageInitializer(IJobStore store, IBlobStore blobs, DiskReserve reserve) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        await blobs.InitializeAsync(cancellationToken);
        reserve.Ensure();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
