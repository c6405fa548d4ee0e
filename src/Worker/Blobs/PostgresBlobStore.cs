using System.Security.Cryptography;
using DSConvService.Worker.Artifacts;
using Npgsql;
using NpgsqlTypes;

namespace DSConvService.Worker.Blobs;

/// <summary>
/// Blobs in PostgreSQL (Storage:Blobs = postgres): a row per blob in <c>blobs</c> and its bytes in
/// <c>blob_chunks</c> rows of at most <see cref="ChunkBytes"/>, written and read one chunk at a time
/// with one reused buffer. A blob is written incomplete, then marked complete in one transaction that
/// also drops the blob it replaces, so readers see the old bytes or the new ones, never a part.
/// Times are Unix milliseconds.
/// </summary>
public sealed class PostgresBlobStore(NpgsqlDataSource db, FileStore local) : IBlobStore
{
    public const int ChunkBytes = 1 << 20;

    /// <summary>Version of the blob tables (table blob_schema_version), migrated at start like the job tables.</summary>
    public const int SchemaVersion = 1;

    private const long MigrationLock = 0x445343_426C6F62;

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await ExecuteAsync(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLock});", ct);
        await ExecuteAsync(connection, tx, "CREATE TABLE IF NOT EXISTS blob_schema_version (version integer NOT NULL);", ct);
        await using (var read = new NpgsqlCommand("SELECT max(version) FROM blob_schema_version;", connection, tx))
        {
            var version = await read.ExecuteScalarAsync(ct) is int v ? v : 0;
            if (version > SchemaVersion)
            {
                throw new InvalidOperationException($"The blob tables have schema version {version}, newer than this service's {SchemaVersion}; run the newer service.");
            }
            if (version < 1)
            {
                await ExecuteAsync(connection, tx, """
                    CREATE TABLE blobs (
                        id bigserial PRIMARY KEY,
                        job_id text NOT NULL,
                        kind text NOT NULL,
                        bytes bigint NOT NULL DEFAULT 0,
                        sha256 text NULL,
                        complete boolean NOT NULL DEFAULT false,
                        created_at bigint NOT NULL
                    );
                    CREATE UNIQUE INDEX ux_blobs_job_kind_complete ON blobs(job_id, kind) WHERE complete;
                    CREATE INDEX ix_blobs_job ON blobs(job_id);
                    CREATE TABLE blob_chunks (
                        blob_id bigint NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
                        seq integer NOT NULL,
                        data bytea NOT NULL,
                        PRIMARY KEY (blob_id, seq)
                    );
                    -- Models and zips do not compress: store them out of line without trying.
                    ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
                    """, ct);
            }
            if (version < SchemaVersion)
            {
                await ExecuteAsync(connection, tx, $"DELETE FROM blob_schema_version; INSERT INTO blob_schema_version VALUES ({SchemaVersion});", ct);
            }
        }
        await tx.CommitAsync(ct);
    }

    public async Task<StoredBlob> WriteAsync(string jobId, BlobKind kind, Stream content, long maxBytes, CancellationToken ct = default)
    {
        CheckId(jobId);
        long id;
        await using (var insert = db.CreateCommand("INSERT INTO blobs (job_id, kind, created_at) VALUES ($1, $2, $3) RETURNING id;"))
        {
            insert.Parameters.Add(new() { Value = jobId });
            insert.Parameters.Add(new() { Value = kind.StoredName() });
            insert.Parameters.Add(new() { Value = Now() });
            id = (long)(await insert.ExecuteScalarAsync(ct))!;
        }
        try
        {
            var buffer = new byte[ChunkBytes];
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long total = 0;
            var seq = 0;
            int filled;
            while ((filled = await FillAsync(content, buffer, ct)) > 0)
            {
                total += filled;
                if (total > maxBytes)
                {
                    throw new UploadTooLargeException($"The upload is larger than the limit of {maxBytes} bytes.");
                }
                sha.AppendData(buffer, 0, filled);
                // Each chunk also touches the row: the sweeper removes only writes that stopped, not long ones still going.
                await using var chunk = db.CreateCommand("""
                    WITH c AS (INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3))
                    UPDATE blobs SET created_at = $4 WHERE id = $1;
                    """);
                chunk.Parameters.Add(new() { Value = id });
                chunk.Parameters.Add(new() { Value = seq++ });
                chunk.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { NpgsqlDbType = NpgsqlDbType.Bytea, TypedValue = buffer.AsMemory(0, filled) });
                chunk.Parameters.Add(new() { Value = Now() });
                await chunk.ExecuteNonQueryAsync(ct);
            }
            var hash = Convert.ToHexStringLower(sha.GetHashAndReset());
            await using var connection = await db.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await using (var replace = new NpgsqlCommand("DELETE FROM blobs WHERE job_id = $1 AND kind = $2 AND complete;", connection, tx))
            {
                replace.Parameters.Add(new() { Value = jobId });
                replace.Parameters.Add(new() { Value = kind.StoredName() });
                await replace.ExecuteNonQueryAsync(ct);
            }
            await using (var complete = new NpgsqlCommand("UPDATE blobs SET complete = true, bytes = $2, sha256 = $3, created_at = $4 WHERE id = $1;", connection, tx))
            {
                complete.Parameters.Add(new() { Value = id });
                complete.Parameters.Add(new() { Value = total });
                complete.Parameters.Add(new() { Value = hash });
                complete.Parameters.Add(new() { Value = Now() });
                await complete.ExecuteNonQueryAsync(ct);
            }
            await tx.CommitAsync(ct);
            return new StoredBlob(total, hash);
        }
        catch
        {
            await TryDeleteAsync(id);
            throw;
        }
    }

    public async Task<Stream?> OpenReadAsync(string jobId, BlobKind kind, CancellationToken ct = default)
    {
        var found = await FindAsync(jobId, kind, ct);
        return found is { } blob ? new PostgresBlobReadStream(db, blob.Id, blob.Bytes) : null;
    }

    public async Task<LocalBlob> OpenLocalAsync(string jobId, BlobKind kind, CancellationToken ct = default)
    {
        await using var source = await OpenReadAsync(jobId, kind, ct)
            ?? throw new FileNotFoundException($"Job {jobId} has no stored {kind.StoredName()}.");
        var path = local.NewSpoolPath($"{jobId}-{kind.StoredName()}");
        var spool = new LocalBlob(path, deleteOnDispose: true);
        try
        {
            Directory.CreateDirectory(local.TempRoot);
            await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await source.CopyToAsync(file, 1 << 16, ct);
            return spool;
        }
        catch
        {
            spool.Dispose();
            throw;
        }
    }

    public async Task<bool> ExistsAsync(string jobId, BlobKind kind, CancellationToken ct = default) => await FindAsync(jobId, kind, ct) is not null;

    public async Task DeleteJobAsync(string jobId, CancellationToken ct = default)
    {
        await using var delete = db.CreateCommand("DELETE FROM blobs WHERE job_id = $1;");
        delete.Parameters.Add(new() { Value = jobId });
        await delete.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyList<StoredJob>> StoredJobsAsync(CancellationToken ct = default)
    {
        await using var query = db.CreateCommand("SELECT job_id, max(created_at) FROM blobs WHERE complete GROUP BY job_id;");
        await using var reader = await query.ExecuteReaderAsync(ct);
        var jobs = new List<StoredJob>();
        while (await reader.ReadAsync(ct))
        {
            jobs.Add(new StoredJob(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)).UtcDateTime));
        }
        return jobs;
    }

    public async Task<int> DeleteStaleWritesAsync(TimeSpan age, DateTime nowUtc, CancellationToken ct = default)
    {
        await using var delete = db.CreateCommand("DELETE FROM blobs WHERE NOT complete AND created_at <= $1;");
        delete.Parameters.Add(new() { Value = new DateTimeOffset(nowUtc - age, TimeSpan.Zero).ToUnixTimeMilliseconds() });
        return await delete.ExecuteNonQueryAsync(ct) + local.DeleteStaleTempFiles(age, nowUtc) + local.DeleteDeadSpools();
    }

    public async Task CheckWritableAsync(CancellationToken ct = default)
    {
        // A real write of one small chunk, then its removal: a full disk or a read-only database fails here.
        await using var probe = db.CreateCommand("""
            WITH b AS (INSERT INTO blobs (job_id, kind, created_at) VALUES ('probe', 'probe', $1) RETURNING id),
                 c AS (INSERT INTO blob_chunks (blob_id, seq, data) SELECT id, 0, '\x00'::bytea FROM b RETURNING blob_id)
            SELECT blob_id FROM c;
            """);
        probe.Parameters.Add(new() { Value = Now() });
        var id = (long)(await probe.ExecuteScalarAsync(ct))!;
        await TryDeleteAsync(id);
        local.CheckWritable();
    }

    private async Task<(long Id, long Bytes)?> FindAsync(string jobId, BlobKind kind, CancellationToken ct)
    {
        await using var query = db.CreateCommand("SELECT id, bytes FROM blobs WHERE job_id = $1 AND kind = $2 AND complete;");
        query.Parameters.Add(new() { Value = jobId });
        query.Parameters.Add(new() { Value = kind.StoredName() });
        await using var reader = await query.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    private async Task TryDeleteAsync(long id)
    {
        try
        {
            await using var delete = db.CreateCommand("DELETE FROM blobs WHERE id = $1;");
            delete.Parameters.Add(new() { Value = id });
            await delete.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // an incomplete blob: the sweeper removes it once stale
        }
    }

    /// <summary>Reads until the buffer is full or the source ends (a short read is not the end of a network stream).</summary>
    private static async Task<int> FillAsync(Stream content, byte[] buffer, CancellationToken ct)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            int read;
            try
            {
                read = await content.ReadAsync(buffer.AsMemory(filled), ct);
            }
            catch (IOException e)
            {
                throw new UploadReadException($"The upload ended before it was complete or was malformed ({e.Message}).", e);
            }
            if (read == 0)
            {
                break;
            }
            filled += read;
        }
        return filled;
    }

    private static void CheckId(string jobId)
    {
        if (!FileStore.IsValidJobId(jobId))
        {
            throw new ArgumentException($"'{jobId}' is not a valid job id.", nameof(jobId));
        }
    }

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        await command.ExecuteNonQueryAsync(ct);
    }
}
