using DSConvService.TestSupport;
using DSConvService.Worker.Jobs;
using Npgsql;

namespace DSConvService.Worker.Tests.Jobs;

/// <summary>The job store contract on a real PostgreSQL server (skipped with the reason when it is not installed).</summary>
public sealed class PostgresJobStoreTests : JobStoreContractTests, IDisposable
{
    private readonly List<NpgsqlDataSource> _sources = [];
    private string? _connectionString;

    public void Dispose()
    {
        foreach (var s in _sources)
        {
            s.Dispose();
        }
    }

    protected override async Task<IJobStore> StoreAsync()
    {
        _connectionString = PostgresServer.Shared.CreateDatabase();
        var store = OpenAnother();
        await store.InitializeAsync();
        return store;
    }

    protected override IJobStore OpenAnother()
    {
        var source = NpgsqlDataSource.Create(_connectionString!);
        _sources.Add(source);
        return new PostgresJobStore(source);
    }
}
