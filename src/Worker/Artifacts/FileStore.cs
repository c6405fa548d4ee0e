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
        foreach (var dir in new[] { UploadsRoot, ArtifactsRoot, ReportsRoot, TempRoot })
        {
            Directory.CreateDirectory(dir);
        }
    }

    private string UploadsRoot => Path.Combine(_root, "uploads");
    private string ArtifactsRoot => Path.Combine(_root, "artifacts");
    private string ReportsRoot => Path.Combine(_root, "reports");

    public static bool IsValidJobId(string jobId) => jobId.Length is > 0 and <= 64 && jobId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

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

    /// <summary>Writes and deletes a probe file: throws when the data directory is not writable. Leaves nothing behind, also when it fails.</summary>
    public void CheckWritable()
    {
        var probe = Path.Combine(TempRoot, $".probe-{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            Directory.CreateDirectory(TempRoot);
            using var file = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
            file.WriteByte(1);
            file.Flush(flushToDisk: true);
        }
        finally
        {
            File.Delete(probe);
        }
    }

    /// <summary>Suffix of every file that is still being written (the sweeper removes stale ones).</summary>
    public const string TempSuffix = ".tmp";

    /// <summary>Scratch files of this process (e.g. downloaded inputs); under the data directory, never the system temp.</summary>
    public string TempRoot => Path.Combine(_root, "tmp");

    /// <summary>Job ids that have anything stored (upload folder, artifact or report), with the newest write time of it.</summary>
    public IEnumerable<(string JobId, DateTime LastWriteUtc)> StoredJobs()
    {
        foreach (var dir in Directory.EnumerateDirectories(UploadsRoot))
        {
            yield return (Path.GetFileName(dir), Directory.GetLastWriteTimeUtc(dir));
        }
        foreach (var root in new[] { ArtifactsRoot, ReportsRoot })
        {
            foreach (var file in Directory.EnumerateFiles(root))
            {
                var name = Path.GetFileName(file);
                if (!name.EndsWith(TempSuffix, StringComparison.Ordinal))
                {
                    yield return (Path.GetFileNameWithoutExtension(name), File.GetLastWriteTimeUtc(file));
                }
            }
        }
    }

    /// <summary>Deletes temp files (interrupted writes, probes, scratch) not touched for <paramref name="age"/>; returns how many.</summary>
    public int DeleteStaleTempFiles(TimeSpan age, DateTime nowUtc)
    {
        var deleted = 0;
        foreach (var root in new[] { UploadsRoot, ArtifactsRoot, ReportsRoot, TempRoot, _root })
        {
            if (!Directory.Exists(root))
            {
                continue;
            }
            var option = root == _root ? SearchOption.TopDirectoryOnly : SearchOption.AllDirectories;
            foreach (var file in Directory.EnumerateFiles(root, "*" + TempSuffix, option))
            {
                // A running process of this machine uses its spool files for as long as a job runs (the model a
                // run reads its weights from, ONNX Runtime's copy of it) and deletes them itself.
                if (IsLiveSpool(Path.GetDirectoryName(file)!))
                {
                    continue;
                }
                try
                {
                    if (nowUtc - File.GetLastWriteTimeUtc(file) >= age)
                    {
                        File.Delete(file);
                        deleted++;
                    }
                }
                catch (IOException)
                {
                    // in use or gone: the next sweep looks again
                }
            }
        }
        return deleted;
    }

    /// <summary>
    /// A fresh scratch file name in this process's own spool folder under <see cref="TempRoot"/>
    /// ("spool/{machine}-{pid}"): a process killed before it deleted its copies leaves a folder that
    /// the next sweep on this machine recognises as dead and removes (see <see cref="DeleteDeadSpools"/>).
    /// </summary>
    public string NewSpoolPath(string label)
    {
        var folder = Path.Combine(SpoolRoot, $"{Environment.MachineName}-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, $"{CheckId(label)}-{Guid.NewGuid():N}{TempSuffix}");
    }

    private string SpoolRoot => Path.Combine(TempRoot, "spool");

    /// <summary>Removes the spool folders of processes of this machine that no longer run; returns how many files went with them.</summary>
    public int DeleteDeadSpools()
    {
        if (!Directory.Exists(SpoolRoot))
        {
            return 0;
        }
        var deleted = 0;
        var prefix = Environment.MachineName + "-";
        foreach (var folder in Directory.EnumerateDirectories(SpoolRoot))
        {
            var name = Path.GetFileName(folder);
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || !int.TryParse(name[prefix.Length..], out var pid)
                || pid == Environment.ProcessId || IsRunning(pid))
            {
                continue;
            }
            try
            {
                deleted += Directory.EnumerateFiles(folder).Count();
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // the next sweep tries again
            }
        }
        return deleted;
    }

    private bool IsLiveSpool(string folder)
    {
        if (!string.Equals(Path.GetDirectoryName(folder), SpoolRoot, StringComparison.Ordinal))
        {
            return false;
        }
        var name = Path.GetFileName(folder);
        var prefix = Environment.MachineName + "-";
        return name.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(name[prefix.Length..], out var pid)
            && (pid == Environment.ProcessId || IsRunning(pid));
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Streams into <paramref name="path"/> through a temp file and a rename, refusing more than <paramref name="maxBytes"/>.</summary>
    internal static async Task<StoredFile> WriteAsync(string path, Stream content, long maxBytes, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + $".{Guid.NewGuid():N}{TempSuffix}";
        try
        {
            long total = 0;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await ReadAsync(content, buffer, ct)) > 0)
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

    /// <summary>A read of the source: a client's stream that breaks off is the client's fault, not a storage fault.</summary>
    private static async ValueTask<int> ReadAsync(Stream content, byte[] buffer, CancellationToken ct)
    {
        try
        {
            return await content.ReadAsync(buffer, ct);
        }
        catch (IOException e)
        {
            throw new UploadReadException($"The upload ended before it was complete or was malformed ({e.Message}).", e);
        }
    }

    /// <summary>Job ids become file names: only letters, digits and '-' are allowed.</summary>
    private static string CheckId(string jobId)
    {
        if (!IsValidJobId(jobId))
        {
            throw new ArgumentException($"'{jobId}' is not a valid job id.", nameof(jobId));
        }
        return jobId;
    }
}
