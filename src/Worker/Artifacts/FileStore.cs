using System.Security.Cryptography;
using DSConvService.Worker.Hosting;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Artifacts;

/// <summary>
/// Files of jobs on local disk under the data directory: uploads/{job}/..., artifacts/{job}.onnx,
/// reports/{job}.json. Every write goes to a temp file in the same folder and is renamed into place,
/// so a crash never leaves a half-written file under a final name.
/// </summary>
public sealed class FileStore
{
    private readonly string _root;

    public FileStore(IOptions<StorageOptions> options) : this(options.Value.FullDataDirectory)
    {
    }

    public FileStore(string dataDirectory)
    {
        _root = Path.GetFullPath(dataDirectory);
        foreach (var dir in new[] { UploadsRoot, ArtifactsRoot, ReportsRoot })
        {
            Directory.CreateDirectory(dir);
        }
    }

    private string UploadsRoot => Path.Combine(_root, "uploads");
    private string ArtifactsRoot => Path.Combine(_root, "artifacts");
    private string ReportsRoot => Path.Combine(_root, "reports");

    public string UploadPath(string jobId, UploadKind kind) => Path.Combine(UploadsRoot, CheckId(jobId), kind switch
    {
        UploadKind.Model => "model.onnx",
        UploadKind.Calibration => "calibration.zip",
        UploadKind.Evaluation => "evaluation.zip",
        UploadKind.Labels => "labels.txt",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    });

    public string ArtifactPath(string jobId) => Path.Combine(ArtifactsRoot, CheckId(jobId) + ".onnx");

    public string ReportPath(string jobId) => Path.Combine(ReportsRoot, CheckId(jobId) + ".json");

    /// <summary>Copies a stream into an upload slot, refusing more than <paramref name="maxBytes"/>.</summary>
    public Task<StoredFile> SaveUploadAsync(string jobId, UploadKind kind, Stream content, long maxBytes, CancellationToken ct) =>
        WriteAsync(UploadPath(jobId, kind), content, maxBytes, ct);

    public Task<StoredFile> SaveArtifactAsync(string jobId, byte[] bytes, CancellationToken ct) =>
        WriteAsync(ArtifactPath(jobId), new MemoryStream(bytes, writable: false), long.MaxValue, ct);

    public Task<StoredFile> SaveReportAsync(string jobId, byte[] json, CancellationToken ct) =>
        WriteAsync(ReportPath(jobId), new MemoryStream(json, writable: false), long.MaxValue, ct);

    public bool Exists(string path) => File.Exists(path);

    /// <summary>Removes everything a job stored (uploads, artifact, report).</summary>
    public void DeleteJobFiles(string jobId)
    {
        var uploads = Path.Combine(UploadsRoot, CheckId(jobId));
        if (Directory.Exists(uploads))
        {
            Directory.Delete(uploads, recursive: true);
        }
        File.Delete(ArtifactPath(jobId));
        File.Delete(ReportPath(jobId));
    }

    /// <summary>Writes and deletes a probe file: throws when the data directory is not writable.</summary>
    public void CheckWritable()
    {
        var probe = Path.Combine(_root, $".probe-{Guid.NewGuid():N}");
        File.WriteAllBytes(probe, [1]);
        File.Delete(probe);
    }

    private static async Task<StoredFile> WriteAsync(string path, Stream content, long maxBytes, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + $".{Guid.NewGuid():N}.tmp";
        try
        {
            long total = 0;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await content.ReadAsync(buffer, ct)) > 0)
                {
                    total += read;
                    if (total > maxBytes)
                    {
                        throw new UploadTooLargeException($"The upload is larger than the limit of {maxBytes} bytes.");
                    }
                    sha.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                }
                await file.FlushAsync(ct);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            return new StoredFile(path, total, Convert.ToHexStringLower(sha.GetHashAndReset()));
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Job ids become file names: only letters, digits and '-' are allowed.</summary>
    private static string CheckId(string jobId)
    {
        if (jobId.Length is 0 or > 64 || !jobId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException($"'{jobId}' is not a valid job id.", nameof(jobId));
        }
        return jobId;
    }
}
