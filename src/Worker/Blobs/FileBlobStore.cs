using DSConvService.Worker.Artifacts;

namespace DSConvService.Worker.Blobs;

/// <summary>Blobs as files under the data directory (Storage:Blobs = filesystem, the default); see <see cref="FileStore"/> for the layout.</summary>
public sealed class FileBlobStore(FileStore files) : IBlobStore
{
    public Task InitializeAsync(CancellationToken ct = default) => Task.CompletedTask;

    public async Task<StoredBlob> WriteAsync(string jobId, BlobKind kind, Stream content, long maxBytes, CancellationToken ct = default)
    {
        var stored = await FileStore.WriteAsync(PathOf(jobId, kind), content, maxBytes, ct);
        return new StoredBlob(stored.Bytes, stored.Sha256);
    }

    public Task<Stream?> OpenReadAsync(string jobId, BlobKind kind, CancellationToken ct = default)
    {
        var path = PathOf(jobId, kind);
        try
        {
            return Task.FromResult<Stream?>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, useAsync: true));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<LocalBlob> OpenLocalAsync(string jobId, BlobKind kind, CancellationToken ct = default)
    {
        var path = PathOf(jobId, kind);
        return File.Exists(path)
            ? Task.FromResult(new LocalBlob(path, deleteOnDispose: false))
            : throw new FileNotFoundException($"Job {jobId} has no stored {kind.StoredName()}.");
    }

    public Task<bool> ExistsAsync(string jobId, BlobKind kind, CancellationToken ct = default) => Task.FromResult(File.Exists(PathOf(jobId, kind)));

    public Task DeleteJobAsync(string jobId, CancellationToken ct = default)
    {
        files.DeleteJobFiles(jobId);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<StoredJob>> StoredJobsAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<StoredJob>>(files.StoredJobs().Select(j => new StoredJob(j.JobId, j.LastWriteUtc)).ToList());

    public Task<int> DeleteStaleWritesAsync(TimeSpan age, DateTime nowUtc, CancellationToken ct = default) =>
        Task.FromResult(files.DeleteStaleTempFiles(age, nowUtc) + files.DeleteDeadSpools());

    public Task CheckWritableAsync(CancellationToken ct = default)
    {
        files.CheckWritable();
        return Task.CompletedTask;
    }

    private string PathOf(string jobId, BlobKind kind) => kind switch
    {
        BlobKind.Artifact => files.ArtifactPath(jobId),
        BlobKind.Report => files.ReportPath(jobId),
        BlobKind.Model => files.UploadPath(jobId, UploadKind.Model),
        BlobKind.Calibration => files.UploadPath(jobId, UploadKind.Calibration),
        BlobKind.Evaluation => files.UploadPath(jobId, UploadKind.Evaluation),
        BlobKind.Labels => files.UploadPath(jobId, UploadKind.Labels),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
