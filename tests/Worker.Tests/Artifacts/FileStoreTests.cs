using System.Security.Cryptography;
using DSConvService.TestSupport;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Tests.Support;
using Xunit;

namespace DSConvService.Worker.Tests.Artifacts;

public sealed class FileStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Writes_record_the_sha256_and_leave_no_temp_files()
    {
        var store = new FileStore(_dir.Path);
        var content = RandomNumberGenerator.GetBytes(200_000);

        var stored = await store.SaveUploadAsync("job1", UploadKind.Model, new MemoryStream(content), long.MaxValue, default);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), stored.Sha256);
        Assert.Equal(content.Length, stored.Bytes);
        Assert.Equal(content, await File.ReadAllBytesAsync(store.UploadPath("job1", UploadKind.Model)));
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task An_upload_over_the_limit_is_refused_and_nothing_is_left()
    {
        var store = new FileStore(_dir.Path);

        await Assert.ThrowsAsync<UploadTooLargeException>(() =>
            store.SaveUploadAsync("job1", UploadKind.Calibration, new MemoryStream(new byte[5000]), 4096, default));

        Assert.False(File.Exists(store.UploadPath("job1", UploadKind.Calibration)));
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Deleting_a_job_removes_its_uploads_artifact_and_report()
    {
        var store = new FileStore(_dir.Path);
        await store.SaveUploadAsync("job1", UploadKind.Model, new MemoryStream([1, 2]), 10, default);
        await store.SaveArtifactAsync("job1", [3], default);
        await store.SaveReportAsync("job1", [4], default);
        await store.SaveArtifactAsync("job2", [5], default);

        store.DeleteJobFiles("job1");

        Assert.Equal([store.ArtifactPath("job2")], Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Spool_folders_of_dead_processes_are_removed_and_live_ones_kept()
    {
        var store = new FileStore(_dir.Path);
        var mine = store.NewSpoolPath("job1-model");
        File.WriteAllBytes(mine, [1]);
        using var alive = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "60") { RedirectStandardOutput = true })!;
        var spool = Path.GetDirectoryName(mine)!;
        var live = Path.Combine(Path.GetDirectoryName(spool)!, $"{Environment.MachineName}-{alive.Id}");
        var dead = Path.Combine(Path.GetDirectoryName(spool)!, $"{Environment.MachineName}-{DeadPid()}");
        var otherHost = Path.Combine(Path.GetDirectoryName(spool)!, "another-host-1");
        foreach (var dir in new[] { live, dead, otherHost })
        {
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(Path.Combine(dir, "x.tmp"), [2]);
        }

        var removed = store.DeleteDeadSpools();
        alive.Kill();

        Assert.Equal(1, removed);
        Assert.False(Directory.Exists(dead));
        Assert.True(File.Exists(mine));
        Assert.True(Directory.Exists(live));
        Assert.True(Directory.Exists(otherHost)); // another machine's processes cannot be checked from here
    }

    [Fact]
    public void The_stale_temp_sweep_keeps_the_spool_files_of_running_processes_however_old()
    {
        // A run reads its model's weights from its spool file (and ONNX Runtime its copy) for as long as the job runs.
        var store = new FileStore(_dir.Path);
        var mine = store.NewSpoolPath("job1-model");
        File.WriteAllBytes(mine, [1]);
        var otherHost = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(mine)!)!, "another-host-1", "x.tmp");
        Directory.CreateDirectory(Path.GetDirectoryName(otherHost)!);
        File.WriteAllBytes(otherHost, [2]);
        var interrupted = Path.Combine(store.TempRoot, "write.tmp");
        File.WriteAllBytes(interrupted, [3]);

        var removed = store.DeleteStaleTempFiles(TimeSpan.Zero, DateTime.UtcNow.AddHours(1));

        Assert.Equal(2, removed);
        Assert.True(File.Exists(mine));
        Assert.False(File.Exists(otherHost));
        Assert.False(File.Exists(interrupted));
    }

    /// <summary>The id of a process that has ended.</summary>
    private static int DeadPid()
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true"))!;
        p.WaitForExit();
        return p.Id;
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Job_ids_cannot_escape_the_data_directory(string id)
    {
        var store = new FileStore(_dir.Path);
        Assert.Throws<ArgumentException>(() => store.ArtifactPath(id));
    }
}
