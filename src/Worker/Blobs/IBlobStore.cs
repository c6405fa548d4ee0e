namespace DSConvService.Worker.Blobs;

/// <summary>
/// Where a job's bytes live (Storage:Blobs): files under the data directory, or chunks in PostgreSQL so
/// that the API and workers on different hosts share nothing but the database. Content is streamed in
/// both directions and never held whole in memory; a write becomes visible only once complete, and
/// replaces an earlier blob of the same job and kind.
/// </summary>
public interface IBlobStore
{
    /// <summary>Creates what the store needs (folders, tables) before the first use.</summary>
    Task InitializeAsync(CancellationToken ct = default);

    /// <summary>Streams <paramref name="content"/> in, refusing more than <paramref name="maxBytes"/> (UploadTooLargeException); records size and SHA-256.</summary>
    Task<StoredBlob> WriteAsync(string jobId, BlobKind kind, Stream content, long maxBytes, CancellationToken ct = default);

    /// <summary>A stream over the stored bytes, or null when there is none.</summary>
    Task<Stream?> OpenReadAsync(string jobId, BlobKind kind, CancellationToken ct = default);

    /// <summary>
    /// The blob as a local file for readers that need a path (zip, ONNX): the file itself on the
    /// file system, or a copy spooled under this process's data directory, deleted on dispose.
    /// Throws <see cref="FileNotFoundException"/> when there is none.
    /// </summary>
    Task<LocalBlob> OpenLocalAsync(string jobId, BlobKind kind, CancellationToken ct = default);

    Task<bool> ExistsAsync(string jobId, BlobKind kind, CancellationToken ct = default);

    /// <summary>Removes everything a job stored.</summary>
    Task DeleteJobAsync(string jobId, CancellationToken ct = default);

    /// <summary>Jobs that have anything stored, with the time of their newest write (for the sweeper).</summary>
    Task<IReadOnlyList<StoredJob>> StoredJobsAsync(CancellationToken ct = default);

    /// <summary>Removes writes that never completed (a crash mid-upload) older than <paramref name="age"/>; returns how many.</summary>
    Task<int> DeleteStaleWritesAsync(TimeSpan age, DateTime nowUtc, CancellationToken ct = default);

    /// <summary>Throws when a blob cannot be written now.</summary>
    Task CheckWritableAsync(CancellationToken ct = default);
}

/// <summary>A blob once written: its size and SHA-256 (lower-case hex).</summary>
public sealed record StoredBlob(long Bytes, string Sha256);

/// <summary>A job id that has stored blobs, and when the newest was written.</summary>
public readonly record struct StoredJob(string JobId, DateTime LastWriteUtc);
