using System.Text.Json;
using DSConvService.Worker.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Jobs;

/// <summary>
/// The job store on SQLite (WAL, so readers never block the writer). Every transition is a single
/// UPDATE whose WHERE clause checks the state it leaves, which makes claims atomic across processes.
/// Times are stored as Unix milliseconds.
/// </summary>
public sealed class SqliteJobStore : IJobStore
{
    private const string Columns =
        "id, owner, status, stage, progress, error, options_json, report_json, inputs_json, created_at, started_at, finished_at, " +
        "attempts, lease_owner, lease_expires_at, cancel_requested, artifact_sha256, artifact_bytes, attempt_log, not_before";

    /// <summary>The schema version this code needs (PRAGMA user_version); <see cref="InitializeAsync"/> migrates older ones.</summary>
    public const int SchemaVersion = 2;

    private readonly string _connectionString;
    private readonly TimeProvider _clock;

    public SqliteJobStore(IOptions<StorageOptions> storage, TimeProvider clock)
        : this(storage.Value.DatabasePath, clock)
    {
    }

    public SqliteJobStore(string databasePath, TimeProvider? clock = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(databasePath))!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = 30,
            Pooling = true,
        }.ToString();
        _clock = clock ?? TimeProvider.System;
    }

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await ExecuteAsync(db, "PRAGMA journal_mode=WAL;", ct);
        // One migrating process at a time: BEGIN IMMEDIATE holds the write lock while the version is read and raised.
        await using var tx = db.BeginTransaction(deferred: false);
        await using var read = db.CreateCommand();
        read.CommandText = "PRAGMA user_version;";
        var version = Convert.ToInt32(await read.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException($"The job database has schema version {version}, newer than this service's {SchemaVersion}; run the newer service.");
        }
        if (version < 1)
        {
            await ExecuteAsync(db, """
                CREATE TABLE IF NOT EXISTS jobs (
                    id TEXT PRIMARY KEY,
                    owner TEXT NULL,
                    status INTEGER NOT NULL,
                    stage TEXT NULL,
                    progress REAL NOT NULL DEFAULT 0,
                    error TEXT NULL,
                    options_json TEXT NOT NULL,
                    report_json TEXT NULL,
                    inputs_json TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    started_at INTEGER NULL,
                    finished_at INTEGER NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    lease_owner TEXT NULL,
                    lease_expires_at INTEGER NULL,
                    cancel_requested INTEGER NOT NULL DEFAULT 0,
                    artifact_sha256 TEXT NULL,
                    artifact_bytes INTEGER NULL
                );
                CREATE INDEX IF NOT EXISTS ix_jobs_status_created ON jobs(status, created_at);
                CREATE INDEX IF NOT EXISTS ix_jobs_owner_created ON jobs(owner, created_at);
                """, ct);
        }
        if (version < 2)
        {
            // Version 2: retries after faults (not before a time) and the reason of every attempt.
            await ExecuteAsync(db, """
                ALTER TABLE jobs ADD COLUMN attempt_log TEXT NULL;
                ALTER TABLE jobs ADD COLUMN not_before INTEGER NULL;
                """, ct);
        }
        if (version < SchemaVersion)
        {
            await ExecuteAsync(db, $"PRAGMA user_version = {SchemaVersion};", ct);
        }
        await tx.CommitAsync(ct);
    }

    public async Task CreateAsync(Job job, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = """
            INSERT INTO jobs (id, owner, status, stage, progress, options_json, inputs_json, created_at, attempts, cancel_requested)
            VALUES ($id, $owner, $status, $stage, 0, $options, $inputs, $created, 0, 0);
            """;
        cmd.Parameters.AddWithValue("$id", job.Id);
        cmd.Parameters.AddWithValue("$owner", (object?)job.Owner ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$status", (int)JobStatus.Queued);
        cmd.Parameters.AddWithValue("$stage", "queued");
        cmd.Parameters.AddWithValue("$options", job.OptionsJson);
        cmd.Parameters.AddWithValue("$inputs", JsonSerializer.Serialize(job.Inputs));
        cmd.Parameters.AddWithValue("$created", ToMs(job.CreatedAt));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<Job?> GetAsync(string id, string? owner = null, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM jobs WHERE id = $id AND ($owner IS NULL OR owner = $owner);";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$owner", (object?)owner ?? DBNull.Value);
        return await ReadSingleAsync(cmd, ct);
    }

    public async Task<JobPage> ListAsync(int page, int pageSize, string? owner = null, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var count = db.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM jobs WHERE ($owner IS NULL OR owner = $owner);";
        count.Parameters.AddWithValue("$owner", (object?)owner ?? DBNull.Value);
        var total = (long)(await count.ExecuteScalarAsync(ct))!;

        await using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT {Columns} FROM jobs WHERE ($owner IS NULL OR owner = $owner)
            ORDER BY created_at DESC, id DESC LIMIT $limit OFFSET $offset;
            """;
        cmd.Parameters.AddWithValue("$owner", (object?)owner ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$limit", pageSize);
        cmd.Parameters.AddWithValue("$offset", (long)(page - 1) * pageSize);
        var items = new List<Job>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            items.Add(Read(reader));
        }
        return new JobPage(items, page, pageSize, total);
    }

    public async Task<Job?> ClaimNextAsync(string workerId, TimeSpan lease, int maxAttempts, CancellationToken ct = default)
    {
        var now = Now();
        await using var db = await OpenAsync(ct);

        // Abandoned jobs first: out of attempts → failed; cancel asked → cancelled.
        await using (var expire = db.CreateCommand())
        {
            expire.CommandText = """
                UPDATE jobs SET status = $failed, finished_at = $now, lease_owner = NULL, lease_expires_at = NULL, stage = 'failed',
                    attempt_log = COALESCE(attempt_log || char(10), '') || 'attempt ' || attempts || ': its worker stopped before finishing (the lease expired without a heartbeat).',
                    error = 'The job was started ' || attempts || ' time(s) and did not finish; giving up after the maximum of ' || $max || ' attempts. ' ||
                            'The last worker stopped before finishing (the lease expired without a heartbeat).' ||
                            CASE WHEN error IS NULL THEN '' ELSE ' Last error: ' || error END
                WHERE status = $running AND lease_expires_at < $now AND attempts >= $max AND cancel_requested = 0;
                UPDATE jobs SET status = $cancelled, finished_at = $now, lease_owner = NULL, lease_expires_at = NULL, stage = 'cancelled'
                WHERE status = $running AND lease_expires_at < $now AND cancel_requested = 1;
                """;
            expire.Parameters.AddWithValue("$failed", (int)JobStatus.Failed);
            expire.Parameters.AddWithValue("$cancelled", (int)JobStatus.Cancelled);
            expire.Parameters.AddWithValue("$running", (int)JobStatus.Running);
            expire.Parameters.AddWithValue("$now", now);
            expire.Parameters.AddWithValue("$max", maxAttempts);
            await expire.ExecuteNonQueryAsync(ct);
        }

        await using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            UPDATE jobs SET status = $running, lease_owner = $worker, lease_expires_at = $expires, attempts = attempts + 1,
                started_at = COALESCE(started_at, $now), stage = 'starting', progress = 0, not_before = NULL,
                attempt_log = CASE WHEN status = $running
                    THEN COALESCE(attempt_log || char(10), '') || 'attempt ' || attempts || ': its worker stopped before finishing (the lease expired without a heartbeat).'
                    ELSE attempt_log END
            WHERE id = (
                SELECT id FROM jobs
                WHERE cancel_requested = 0
                  AND ((status = $queued AND (not_before IS NULL OR not_before <= $now)) OR (status = $running AND lease_expires_at < $now))
                ORDER BY created_at, id LIMIT 1)
            RETURNING {Columns};
            """;
        cmd.Parameters.AddWithValue("$running", (int)JobStatus.Running);
        cmd.Parameters.AddWithValue("$queued", (int)JobStatus.Queued);
        cmd.Parameters.AddWithValue("$worker", workerId);
        cmd.Parameters.AddWithValue("$now", now);
        cmd.Parameters.AddWithValue("$expires", now + (long)lease.TotalMilliseconds);
        return await ReadSingleAsync(cmd, ct);
    }

    public async Task<LeaseState> HeartbeatAsync(string id, string workerId, TimeSpan lease, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = """
            UPDATE jobs SET lease_expires_at = $expires
            WHERE id = $id AND status = $running AND lease_owner = $worker
            RETURNING cancel_requested;
            """;
        cmd.Parameters.AddWithValue("$expires", Now() + (long)lease.TotalMilliseconds);
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$running", (int)JobStatus.Running);
        cmd.Parameters.AddWithValue("$worker", workerId);
        return await ReadLeaseAsync(cmd, ct);
    }

    public async Task<LeaseState> UpdateProgressAsync(string id, string workerId, string stage, double progress, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = """
            UPDATE jobs SET stage = $stage, progress = $progress
            WHERE id = $id AND status = $running AND lease_owner = $worker
            RETURNING cancel_requested;
            """;
        cmd.Parameters.AddWithValue("$stage", stage);
        cmd.Parameters.AddWithValue("$progress", Math.Clamp(progress, 0, 1));
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$running", (int)JobStatus.Running);
        cmd.Parameters.AddWithValue("$worker", workerId);
        return await ReadLeaseAsync(cmd, ct);
    }

    public async Task<LeaseState> CheckLeaseAsync(string id, string workerId, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT cancel_requested FROM jobs WHERE id = $id AND status = $running AND lease_owner = $worker;";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$running", (int)JobStatus.Running);
        cmd.Parameters.AddWithValue("$worker", workerId);
        return await ReadLeaseAsync(cmd, ct);
    }

    public async Task<RetryOutcome> RetryLaterAsync(string id, string workerId, string reason, TimeSpan delay, int maxAttempts, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        // One statement decides: attempts left → queued again (later); none left → failed with the whole log.
        cmd.CommandText = """
            UPDATE jobs SET
                attempt_log = COALESCE(attempt_log || char(10), '') || 'attempt ' || attempts || ': ' || $reason,
                status = CASE WHEN attempts < $max THEN $queued ELSE $failed END,
                stage = CASE WHEN attempts < $max THEN 'queued' ELSE 'failed' END,
                not_before = CASE WHEN attempts < $max THEN $notBefore ELSE NULL END,
                finished_at = CASE WHEN attempts < $max THEN NULL ELSE $now END,
                error = CASE WHEN attempts < $max THEN NULL
                    ELSE 'The job failed ' || attempts || ' time(s) for reasons that were not its input''s; giving up after the maximum of ' || $max || ' attempts. ' ||
                         COALESCE(attempt_log || char(10), '') || 'attempt ' || attempts || ': ' || $reason END,
                progress = 0, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $id AND status = $running AND lease_owner = $worker
            RETURNING status;
            """;
        cmd.Parameters.AddWithValue("$reason", reason.ReplaceLineEndings(" "));
        cmd.Parameters.AddWithValue("$max", maxAttempts);
        cmd.Parameters.AddWithValue("$queued", (int)JobStatus.Queued);
        cmd.Parameters.AddWithValue("$failed", (int)JobStatus.Failed);
        cmd.Parameters.AddWithValue("$running", (int)JobStatus.Running);
        cmd.Parameters.AddWithValue("$notBefore", Now() + (long)delay.TotalMilliseconds);
        cmd.Parameters.AddWithValue("$now", Now());
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$worker", workerId);
        var status = await cmd.ExecuteScalarAsync(ct);
        return status is null ? RetryOutcome.NotHeld : Convert.ToInt32(status, System.Globalization.CultureInfo.InvariantCulture) == (int)JobStatus.Queued ? RetryOutcome.Requeued : RetryOutcome.Failed;
    }

    public async Task<IReadOnlyDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT status, COUNT(*) FROM jobs GROUP BY status;";
        var counts = Enum.GetValues<JobStatus>().ToDictionary(s => s, _ => 0L);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            counts[(JobStatus)reader.GetInt32(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    public async Task<bool> ExistsAsync(string id, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT 1 FROM jobs WHERE id = $id;";
        cmd.Parameters.AddWithValue("$id", id);
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    public Task<bool> MarkSucceededAsync(string id, string workerId, string reportJson, string artifactSha256, long artifactBytes, CancellationToken ct = default) =>
        FinishAsync(id, workerId, JobStatus.Succeeded, null, reportJson, artifactSha256, artifactBytes, ct);

    public Task<bool> MarkFailedAsync(string id, string workerId, string error, CancellationToken ct = default) =>
        FinishAsync(id, workerId, JobStatus.Failed, error, null, null, null, ct);

    public Task<bool> MarkCancelledAsync(string id, string workerId, CancellationToken ct = default) =>
        FinishAsync(id, workerId, JobStatus.Cancelled, null, null, null, null, ct);

    public async Task<bool> ReleaseAsync(string id, string workerId, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = """
            UPDATE jobs SET status = $queued, stage = 'queued', progress = 0, lease_owner = NULL, lease_expires_at = NULL,
                attempts = MAX(attempts - 1, 0)
            WHERE id = $id AND status = $running AND lease_owner = $worker AND cancel_requested = 0;
            """;
        cmd.Parameters.AddWithValue("$queued", (int)JobStatus.Queued);
        cmd.Parameters.AddWithValue("$running", (int)JobStatus.Running);
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$worker", workerId);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<Job?> RequestCancelAsync(string id, string? owner = null, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = """
            UPDATE jobs SET status = $cancelled, finished_at = $now, stage = 'cancelled'
            WHERE id = $id AND status = $queued AND ($owner IS NULL OR owner = $owner);
            UPDATE jobs SET cancel_requested = 1
            WHERE id = $id AND status = $running AND ($owner IS NULL OR owner = $owner);
            """;
        cmd.Parameters.AddWithValue("$cancelled", (int)JobStatus.Cancelled);
        cmd.Parameters.AddWithValue("$queued", (int)JobStatus.Queued);
        cmd.Parameters.AddWithValue("$running", (int)JobStatus.Running);
        cmd.Parameters.AddWithValue("$now", Now());
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$owner", (object?)owner ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(ct);
        return await GetAsync(id, owner, ct);
    }

    public async Task<bool> DeleteAsync(string id, string? owner = null, CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "DELETE FROM jobs WHERE id = $id AND status IN ($s, $f, $c) AND ($owner IS NULL OR owner = $owner);";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$s", (int)JobStatus.Succeeded);
        cmd.Parameters.AddWithValue("$f", (int)JobStatus.Failed);
        cmd.Parameters.AddWithValue("$c", (int)JobStatus.Cancelled);
        cmd.Parameters.AddWithValue("$owner", (object?)owner ?? DBNull.Value);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task CheckHealthAsync(CancellationToken ct = default)
    {
        await using var db = await OpenAsync(ct);
        // BEGIN IMMEDIATE takes the write lock: proves the database is writable without changing it.
        await ExecuteAsync(db, "BEGIN IMMEDIATE; SELECT COUNT(*) FROM jobs WHERE 0; ROLLBACK;", ct);
    }

    private async Task<bool> FinishAsync(string id, string workerId, JobStatus status, string? error, string? report,
        string? sha, long? bytes, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = """
            UPDATE jobs SET status = $status, finished_at = $now, stage = $stage, error = $error,
                progress = CASE WHEN $status = $succeeded THEN 1 ELSE progress END,
                report_json = $report, artifact_sha256 = $sha, artifact_bytes = $bytes,
                attempt_log = CASE WHEN $status = $failedStatus THEN COALESCE(attempt_log || char(10), '') || 'attempt ' || attempts || ': ' || $errorLine ELSE attempt_log END,
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = $id AND status = $running AND lease_owner = $worker;
            """;
        cmd.Parameters.AddWithValue("$status", (int)status);
        cmd.Parameters.AddWithValue("$succeeded", (int)JobStatus.Succeeded);
        cmd.Parameters.AddWithValue("$stage", status.ToApiName());
        cmd.Parameters.AddWithValue("$now", Now());
        cmd.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$errorLine", (error ?? "").ReplaceLineEndings(" "));
        cmd.Parameters.AddWithValue("$failedStatus", (int)JobStatus.Failed);
        cmd.Parameters.AddWithValue("$report", (object?)report ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$sha", (object?)sha ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$bytes", (object?)bytes ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$running", (int)JobStatus.Running);
        cmd.Parameters.AddWithValue("$worker", workerId);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var db = new SqliteConnection(_connectionString);
        await db.OpenAsync(ct);
        return db;
    }

    private static async Task ExecuteAsync(SqliteConnection db, string sql, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<Job?> ReadSingleAsync(SqliteCommand cmd, CancellationToken ct)
    {
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static async Task<LeaseState> ReadLeaseAsync(SqliteCommand cmd, CancellationToken ct)
    {
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new LeaseState(true, reader.GetInt64(0) != 0) : new LeaseState(false, false);
    }

    private static Job Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Owner = r.IsDBNull(1) ? null : r.GetString(1),
        Status = (JobStatus)r.GetInt32(2),
        Stage = r.IsDBNull(3) ? null : r.GetString(3),
        Progress = r.GetDouble(4),
        Error = r.IsDBNull(5) ? null : r.GetString(5),
        OptionsJson = r.GetString(6),
        ReportJson = r.IsDBNull(7) ? null : r.GetString(7),
        Inputs = JsonSerializer.Deserialize<JobInputs>(r.GetString(8)) ?? new JobInputs(),
        CreatedAt = FromMs(r.GetInt64(9)),
        StartedAt = r.IsDBNull(10) ? null : FromMs(r.GetInt64(10)),
        FinishedAt = r.IsDBNull(11) ? null : FromMs(r.GetInt64(11)),
        Attempts = r.GetInt32(12),
        LeaseOwner = r.IsDBNull(13) ? null : r.GetString(13),
        LeaseExpiresAt = r.IsDBNull(14) ? null : FromMs(r.GetInt64(14)),
        CancelRequested = r.GetInt64(15) != 0,
        ArtifactSha256 = r.IsDBNull(16) ? null : r.GetString(16),
        ArtifactBytes = r.IsDBNull(17) ? null : r.GetInt64(17),
        AttemptErrors = Job.ParseAttemptLog(r.IsDBNull(18) ? null : r.GetString(18)),
        NotBefore = r.IsDBNull(19) ? null : FromMs(r.GetInt64(19)),
    };

    private long Now() => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    private static long ToMs(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
