using DSConvService.TestSupport;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Worker.Tests.Support;

namespace DSConvService.Worker.Tests.Blobs;

public sealed class FileBlobStoreTests : BlobStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override async Task<IBlobStore> StoreAsync()
    {
        var store = new FileBlobStore(new FileStore(_dir.Path));
        await store.InitializeAsync();
        return store;
    }

    protected override Task<long> StoredThingsAsync() =>
        Task.FromResult((long)Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories).Count());

    protected override IEnumerable<string> SpoolFiles() => Directory.EnumerateFiles(Path.Combine(_dir.Path, "tmp"), "*", SearchOption.AllDirectories);
}
