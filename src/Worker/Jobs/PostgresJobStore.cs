using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace DSConvService.Worker.Jobs;

/// <summary>
/// The job store on PostgreSQL, for API and worker processes on different hosts. Same contract and
/// transitions as <see cref="SqliteJobStore"/>: every transition is one statement guarded by the state
/// it leaves (and the lease holder); a claim locks the chosen row with FOR UPDATE SKIP LOCKED, so
/// concurrent workers never wait for each other nor take the same job. Times are Unix milliseconds.
/// </summary>
public sealed class PostgresJobStore(NpgsqlDataSource db, TimeProvider? clock = null) : IJobStore
{
    private const string Columns =
        "id, owner, status, stage, progress, error, options_json, report_json, inputs_json, created_at, started_at, finished_at, " +
        "attempts, lease_owner, lease_expires_at, cancel_requested, artifact_sha256, artifact_bytes, attempt_log, not_before";

    /// <summary>The schema version this code needs (table schema_version); older ones are migrated at start.</summary>
    public const int SchemaVersion = 2;

    // Any number that other applications sharing the database are unlikely to use for their own advisory locks.
    private const long MigrationLock = 0x445343_6F6E76;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    private const string AttemptLine = "'attempt ' || attempts || ': '";

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Processes starting together migrate one after the other; the lock ends with the transaction.
        await ExecuteAsync(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLock});", ct);
        await ExecuteAsync(connection, tx, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);", ct);
        await using (var read = new NpgsqlCommand("SELECT max(version) FROM schema_version;", connection, tx))
        {
            var found = await read.ExecuteScalarAsync(ct);
            var version = found is int v ? v : 0;
            if (version > SchemaVersion)
            {
                throw new InvalidOperationException($"The job database has schema version {version}, newer than this service's {SchemaVersion}; run the newer service.");
            }
            if (version < 1)
            {
                await ExecuteAsync(connection, tx, """
                    CREATE TABLE jobs (
                        id text PRIMARY KEY,
                        owner text NULL,
                        status integer NOT NULL,
                        stage text NULL,
                        progress double precision NOT NULL DEFAULT 0,
                        error text NULL,
                        options_json text NOT NULL,
                        report_json text NULL,
                        inputs_json text NOT NULL,
                        created_at bigint NOT NULL,
                        started_at bigint NULL,
                        finished_at bigint NULL,
                        attempts integer NOT NULL DEFAULT 0,
                        lease_owner text NULL,
                        lease_expires_at bigint NULL,
                        cancel_requested boolean NOT NULL DEFAULT false,
                        artifact_sha256 text NULL,
                        artifact_bytes bigint NULL
                    );
                    CREATE INDEX ix_jobs_status_created ON jobs(status, created_at);
                    CREATE INDEX ix_jobs_owner_created ON jobs(owner, created_at);
                    """, ct);
            }
            if (version < 2)
            {
                // Version 2: retries after faults (not before a time) and the reason of every attempt.
                await ExecuteAsync(connection, tx, "ALTER TABLE jobs ADD COLUMN attempt_log text NULL, ADD COLUMN not_before bigint NULL;", ct);
            }
            if (version < SchemaVersion)
            {
                await ExecuteAsync(connection, tx, $"DELETE FROM schema_version; INSERT INTO schema_version VALUES ({SchemaVersion});", ct);
            }
        }
        await tx.CommitAsync(ct);
    }

    public async Task CreateAsync(Job job, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("""
            INSERT INTO jobs (id, owner, status, stage, progress, options_json, inputs_json, created_at, attempts, cancel_requested)
            VALUES (@id, @owner, @status, 'queued', 0, @options, @inputs, @created, 0, false);
            """);
        Text(cmd, "id", job.Id);
        Text(cmd, "owner", job.Owner);
        Int(cmd, "status", (int)JobStatus.Queued);
        Text(cmd, "options", job.OptionsJson);
        Text(cmd, "inputs", JsonSerializer.Serialize(job.Inputs));
        Long(cmd, "created", job.CreatedAt.ToUnixTimeMilliseconds());
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<Job?> GetAsync(string id, string? owner = null, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"SELECT {Columns} FROM jobs WHERE id = @id AND (@owner::text IS NULL OR owner = @owner);");
        Text(cmd, "id", id);
        Text(cmd, "owner", owner);
        return await ReadSingleAsync(cmd, ct);
    }

    public async Task<JobPage> ListAsync(int page, int pageSize, string? owner = null, CancellationToken ct = default)
    {
        await using var count = db.CreateCommand("SELECT count(*) FROM jobs WHERE (@owner::text IS NULL OR owner = @owner);");
        Text(count, "owner", owner);
        var total = (long)(await count.ExecuteScalarAsync(ct))!;
        await using var cmd = db.CreateCommand($"""
            SELECT {Columns} FROM jobs WHERE (@owner::text IS NULL OR owner = @owner)
            ORDER BY created_at DESC, id DESC LIMIT @limit OFFSET @offset;
            """);
        Text(cmd, "owner", owner);
        Int(cmd, "limit", pageSize);
        Long(cmd, "offset", (long)(page - 1) * pageSize);
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
        await using (var expire = db.CreateCommand($"""
            UPDATE jobs SET status = @failed, finished_at = @now, lease_owner = NULL, lease_expires_at = NULL, stage = 'failed',
                attempt_log = COALESCE(attempt_log || E'\n', '') || {AttemptLine} || 'its worker stopped before finishing (the lease expired without a heartbeat).',
                error = 'The job was started ' || attempts || ' time(s) and did not finish; giving up after the maximum of ' || @max || ' attempts. ' ||
                        'The last worker stopped before finishing (the lease expired without a heartbeat).' ||
                        CASE WHEN error IS NULL THEN '' ELSE ' Last error: ' || error END
            WHERE status = @running AND lease_expires_at < @now AND attempts >= @max AND NOT cancel_requested;
            """))
        {
            Int(expire, "failed", (int)JobStatus.Failed);
            Int(expire, "running", (int)JobStatus.Running);
            Long(expire, "now", now);
            Int(expire, "max", maxAttempts);
            await expire.ExecuteNonQueryAsync(ct);
        }
        await using (var cancel = db.CreateCommand("""
            UPDATE jobs SET status = @cancelled, finished_at = @now, lease_owner = NULL, lease_expires_at = NULL, stage = 'cancelled'
            WHERE status = @running AND lease_expires_at < @now AND cancel_requested;
            """))
        {
            Int(cancel, "cancelled", (int)JobStatus.Cancelled);
            Int(cancel, "running", (int)JobStatus.Running);
            Long(cancel, "now", now);
            await cancel.ExecuteNonQueryAsync(ct);
        }

        await using var cmd = db.CreateCommand($"""
            UPDATE jobs SET status = @running, lease_owner = @worker, lease_expires_at = @expires, attempts = jobs.attempts + 1,
                started_at = COALESCE(started_at, @now), stage = 'starting', progress = 0, not_before = NULL,
                attempt_log = CASE WHEN jobs.status = @running
                    THEN COALESCE(attempt_log || E'\n', '') || {AttemptLine} || 'its worker stopped before finishing (the lease expired without a heartbeat).'
                    ELSE attempt_log END
            FROM (SELECT id FROM jobs
                  WHERE NOT cancel_requested
                    AND ((status = @queued AND (not_before IS NULL OR not_before <= @now)) OR (status = @running AND lease_expires_at < @now))
                  ORDER BY created_at, id LIMIT 1
                  FOR UPDATE SKIP LOCKED) AS next
            WHERE jobs.id = next.id
            RETURNING {string.Join(", ", Columns.Split(", ").Select(c => "jobs." + c))};
            """);
        Int(cmd, "running", (int)JobStatus.Running);
        Int(cmd, "queued", (int)JobStatus.Queued);
        Text(cmd, "worker", workerId);
        Long(cmd, "now", now);
        Long(cmd, "expires", now + (long)lease.TotalMilliseconds);
        return await ReadSingleAsync(cmd, ct);
    }

    public async Task<LeaseState> HeartbeatAsync(string id, string workerId, TimeSpan lease, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE jobs SET lease_expires_at = @expires WHERE id = @id AND status = @running AND lease_owner = @worker
            RETURNING cancel_requested;
            """);
        Long(cmd, "expires", Now() + (long)lease.TotalMilliseconds);
        return await LeaseAsync(cmd, id, workerId, ct);
    }

    public async Task<LeaseState> CheckLeaseAsync(string id, string workerId, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("SELECT cancel_requested FROM jobs WHERE id = @id AND status = @running AND lease_owner = @worker;");
        return await LeaseAsync(cmd, id, workerId, ct);
    }

    public async Task<LeaseState> UpdateProgressAsync(string id, string workerId, string stage, double progress, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE jobs SET stage = @stage, progress = @progress WHERE id = @id AND status = @running AND lease_owner = @worker
            RETURNING cancel_requested;
            """);
        Text(cmd, "stage", stage);
        cmd.Parameters.Add(new NpgsqlParameter("progress", NpgsqlDbType.Double) { Value = Math.Clamp(progress, 0, 1) });
        return await LeaseAsync(cmd, id, workerId, ct);
    }

    public async Task<RetryOutcome> RetryLaterAsync(string id, string workerId, string reason, TimeSpan delay, int maxAttempts, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand($"""
            UPDATE jobs SET
                attempt_log = COALESCE(attempt_log || E'\n', '') || {AttemptLine} || @reason,
                status = CASE WHEN attempts < @max THEN @queued ELSE @failed END,
                stage = CASE WHEN attempts < @max THEN 'queued' ELSE 'failed' END,
                not_before = CASE WHEN attempts < @max THEN @notBefore ELSE NULL END,
                finished_at = CASE WHEN attempts < @max THEN NULL ELSE @now END,
                error = CASE WHEN attempts < @max THEN NULL
                    ELSE 'The job failed ' || attempts || ' time(s) for reasons that were not its input''s; giving up after the maximum of ' || @max || ' attempts. ' ||
                         COALESCE(attempt_log || E'\n', '') || {AttemptLine} || @reason END,
                progress = 0, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = @id AND status = @running AND lease_owner = @worker
            RETURNING status;
            """);
        Text(cmd, "reason", reason.ReplaceLineEndings(" "));
        Int(cmd, "max", maxAttempts);
        Int(cmd, "queued", (int)JobStatus.Queued);
        Int(cmd, "failed", (int)JobStatus.Failed);
        Int(cmd, "running", (int)JobStatus.Running);
        Long(cmd, "notBefore", Now() + (long)delay.TotalMilliseconds);
        Long(cmd, "now", Now());
        Text(cmd, "id", id);
        Text(cmd, "worker", workerId);
        var status = await cmd.ExecuteScalarAsync(ct);
        return status is null ? RetryOutcome.NotHeld : (int)status == (int)JobStatus.Queued ? RetryOutcome.Requeued : RetryOutcome.Failed;
    }

    public Task<bool> MarkSucceededAsync(string id, string workerId, string reportJson, string artifactSha256, long artifactBytes, CancellationToken ct = default) =>
        FinishAsync(id, workerId, JobStatus.Succeeded, null, reportJson, artifactSha256, artifactBytes, ct);

    public Task<bool> MarkFailedAsync(string id, string workerId, string error, CancellationToken ct = default) =>
        FinishAsync(id, workerId, JobStatus.Failed, error, null, null, null, ct);

    public Task<bool> MarkCancelledAsync(string id, string workerId, CancellationToken ct = default) =>
        FinishAsync(id, workerId, JobStatus.Cancelled, null, null, null, null, ct);

    public async Task<bool> ReleaseAsync(string id, string workerId, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE jobs SET status = @queued, stage = 'queued', progress = 0, lease_owner = NULL, lease_expires_at = NULL,
                attempts = GREATEST(attempts - 1, 0)
            WHERE id = @id AND status = @running AND lease_owner = @worker AND NOT cancel_requested;
            """);
        Int(cmd, "queued", (int)JobStatus.Queued);
        Int(cmd, "running", (int)JobStatus.Running);
        Text(cmd, "id", id);
        Text(cmd, "worker", workerId);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<Job?> RequestCancelAsync(string id, string? owner = null, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE jobs SET
                status = CASE WHEN status = @queued THEN @cancelled ELSE status END,
                finished_at = CASE WHEN status = @queued THEN @now ELSE finished_at END,
                stage = CASE WHEN status = @queued THEN 'cancelled' ELSE stage END,
                cancel_requested = CASE WHEN status = @running THEN true ELSE cancel_requested END
            WHERE id = @id AND status IN (@queued, @running) AND (@owner::text IS NULL OR owner = @owner);
            """);
        Int(cmd, "queued", (int)JobStatus.Queued);
        Int(cmd, "running", (int)JobStatus.Running);
        Int(cmd, "cancelled", (int)JobStatus.Cancelled);
        Long(cmd, "now", Now());
        Text(cmd, "id", id);
        Text(cmd, "owner", owner);
        await cmd.ExecuteNonQueryAsync(ct);
        return await GetAsync(id, owner, ct);
    }

    public async Task<bool> DeleteAsync(string id, string? owner = null, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("DELETE FROM jobs WHERE id = @id AND status IN (@s, @f, @c) AND (@owner::text IS NULL OR owner = @owner);");
        Text(cmd, "id", id);
        Int(cmd, "s", (int)JobStatus.Succeeded);
        Int(cmd, "f", (int)JobStatus.Failed);
        Int(cmd, "c", (int)JobStatus.Cancelled);
        Text(cmd, "owner", owner);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<IReadOnlyDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand("SELECT status, count(*) FROM jobs GROUP BY status;");
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
        await using var cmd = db.CreateCommand("SELECT 1 FROM jobs WHERE id = @id;");
        Text(cmd, "id", id);
        return await cmd.ExecuteScalarAsync(ct) is not null;
    }

    public async Task CheckHealthAsync(CancellationToken ct = default)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // A read-write transaction that locks nothing: fails on a read-only (standby) server or a missing table.
        await ExecuteAsync(connection, tx, "SET TRANSACTION READ WRITE; SELECT count(*) FROM jobs WHERE false;", ct);
        await tx.RollbackAsync(ct);
    }

    private async Task<bool> FinishAsync(string id, string workerId, JobStatus status, string? error, string? report,
        string? sha, long? bytes, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            UPDATE jobs SET status = @status, finished_at = @now, stage = @stage, error = @error,
                progress = CASE WHEN @status = @succeeded THEN 1 ELSE progress END,
                report_json = @report, artifact_sha256 = @sha, artifact_bytes = @bytes,
                attempt_log = CASE WHEN @status = @failedStatus THEN COALESCE(attempt_log || E'\n', '') || {AttemptLine} || @errorLine ELSE attempt_log END,
                lease_owner = NULL, lease_expires_at = NULL
            WHERE id = @id AND status = @running AND lease_owner = @worker;
            """);
        Int(cmd, "status", (int)status);
        Int(cmd, "succeeded", (int)JobStatus.Succeeded);
        Int(cmd, "failedStatus", (int)JobStatus.Failed);
        Int(cmd, "running", (int)JobStatus.Running);
        Text(cmd, "stage", status.ToApiName());
        Long(cmd, "now", Now());
        Text(cmd, "error", error);
        Text(cmd, "errorLine", (error ?? "").ReplaceLineEndings(" "));
        Text(cmd, "report", report);
        Text(cmd, "sha", sha);
        cmd.Parameters.Add(new NpgsqlParameter("bytes", NpgsqlDbType.Bigint) { Value = (object?)bytes ?? DBNull.Value });
        Text(cmd, "id", id);
        Text(cmd, "worker", workerId);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private static async Task<LeaseState> LeaseAsync(NpgsqlCommand cmd, string id, string workerId, CancellationToken ct)
    {
        Text(cmd, "id", id);
        Int(cmd, "running", (int)JobStatus.Running);
        Text(cmd, "worker", workerId);
        var cancel = await cmd.ExecuteScalarAsync(ct);
        return cancel is bool requested ? new LeaseState(true, requested) : new LeaseState(false, false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, tx);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<Job?> ReadSingleAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? Read(reader) : null;
    }

    private static Job Read(NpgsqlDataReader r) => new()
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
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(9)),
        StartedAt = r.IsDBNull(10) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(10)),
        FinishedAt = r.IsDBNull(11) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(11)),
        Attempts = r.GetInt32(12),
        LeaseOwner = r.IsDBNull(13) ? null : r.GetString(13),
        LeaseExpiresAt = r.IsDBNull(14) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(14)),
        CancelRequested = r.GetBoolean(15),
        ArtifactSha256 = r.IsDBNull(16) ? null : r.GetString(16),
        ArtifactBytes = r.IsDBNull(17) ? null : r.GetInt64(17),
        AttemptErrors = Job.ParseAttemptLog(r.IsDBNull(18) ? null : r.GetString(18)),
        NotBefore = r.IsDBNull(19) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(19)),
    };

    private static void Text(NpgsqlCommand cmd, string name, string? value) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });

    private static void Int(NpgsqlCommand cmd, string name, int value) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Integer) { Value = value });

    private static void Long(NpgsqlCommand cmd, string name, long value) =>
        cmd.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Bigint) { Value = value });

    private long Now() => _clock.GetUtcNow().ToUnixTimeMilliseconds();
}
