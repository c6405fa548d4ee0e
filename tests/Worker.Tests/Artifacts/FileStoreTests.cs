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
