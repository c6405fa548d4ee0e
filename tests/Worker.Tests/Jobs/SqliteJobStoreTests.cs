using DSConvService.TestSupport;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Tests.Support;
using Xunit;

namespace DSConvService.Worker.Tests.Jobs;

public sealed class SqliteJobStoreTests : JobStoreContractTests, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    protected override async Task<IJobStore> StoreAsync()
    {
        var store = new SqliteJobStore(_dir.File("jobs.db"));
        await store.InitializeAsync();
        return store;
    }

    protected override IJobStore OpenAnother() => new SqliteJobStore(_dir.File("jobs.db"));

    [Fact]
    public async Task The_database_uses_write_ahead_logging()
    {
        await StoreAsync();
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_dir.File("jobs.db")}");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string)cmd.ExecuteScalar()!);
    }

    [Fact]
    public async Task A_version_1_database_is_migrated_and_keeps_its_jobs()
    {
        var path = _dir.File("jobs.db");
        using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            // The schema main shipped before versioning (user_version 0), with one queued job.
            cmd.CommandText = """
                CREATE TABLE jobs (id TEXT PRIMARY KEY, owner TEXT NULL, status INTEGER NOT NULL, stage TEXT NULL, progress REAL NOT NULL DEFAULT 0,
                    error TEXT NULL, options_json TEXT NOT NULL, report_json TEXT NULL, inputs_json TEXT NOT NULL, created_at INTEGER NOT NULL,
                    started_at INTEGER NULL, finished_at INTEGER NULL, attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT NULL,
                    lease_expires_at INTEGER NULL, cancel_requested INTEGER NOT NULL DEFAULT 0, artifact_sha256 TEXT NULL, artifact_bytes INTEGER NULL);
                INSERT INTO jobs (id, status, options_json, inputs_json, created_at) VALUES ('old', 0, '{}', '{}', 1);
                """;
            cmd.ExecuteNonQuery();
        }

        var store = new SqliteJobStore(path);
        await store.InitializeAsync();

        var claimed = await store.ClaimNextAsync("w", LongLease, 3);
        Assert.Equal("old", claimed!.Id);
        Assert.Empty(claimed.AttemptErrors);
    }
}
