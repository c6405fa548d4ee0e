using DSConvService.TestSupport;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Worker.Tests.Support;
using Npgsql;

namespace DSConvService.Worker.Tests.Blobs;

/// <summary>The blob store contract on a real PostgreSQL server (skipped with the reason when it is not installed).</summary>
public sealed class PostgresBlobStoreTests : BlobStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();
    private NpgsqlDataSource? _db;

    public void Dispose()
    {
        _db?.Dispose();
        _dir.Dispose();
    }

    protected override async Task<IBlobStore> StoreAsync()
    {
        _db = NpgsqlDataSource.Create(PostgresServer.Shared.CreateDatabase());
        var store = new PostgresBlobStore(_db, new FileStore(_dir.Path));
        await store.InitializeAsync();
        await store.InitializeAsync(); // a second process starting finds the tables in place
        return store;
    }

    protected override async Task<long> StoredThingsAsync()
    {
        await using var count = _db!.CreateCommand("SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM blob_chunks);");
        return (long)(await count.ExecuteScalarAsync())! + Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories).Count();
    }

    protected override IEnumerable<string> SpoolFiles() => Directory.EnumerateFiles(Path.Combine(_dir.Path, "tmp"), "*", SearchOption.AllDirectories);
}
