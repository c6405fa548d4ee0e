using System.Security.Cryptography;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using Xunit;

namespace DSConvService.Worker.Tests.Blobs;

/// <summary>The contract of a blob store (IBlobStore), run against each real store: the file system and PostgreSQL.</summary>
public abstract class BlobStoreContractTests
{
    /// <summary>A store on fresh, initialized storage.</summary>
    protected abstract Task<IBlobStore> StoreAsync();

    /// <summary>Everything the store holds (files, rows, chunks), to prove nothing is left behind.</summary>
    protected abstract Task<long> StoredThingsAsync();

    /// <summary>Spool files of this process (copies for readers that need a path).</summary>
    protected abstract IEnumerable<string> SpoolFiles();

    [SkippableFact]
    public async Task A_blob_of_several_chunks_reads_back_byte_for_byte_with_its_sha256()
    {
        var store = await StoreAsync();
        var content = RandomNumberGenerator.GetBytes(PostgresBlobStore.ChunkBytes * 2 + 12345);

        var stored = await store.WriteAsync("job1", BlobKind.Model, new TrickleStream(content, 7000), long.MaxValue);

        Assert.Equal(content.Length, stored.Bytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), stored.Sha256);
        await using var read = await store.OpenReadAsync("job1", BlobKind.Model);
        Assert.NotNull(read);
        var back = new MemoryStream();
        var buffer = new byte[10_000]; // reads smaller than a chunk, across chunk borders
        int n;
        while ((n = await read.ReadAsync(buffer)) > 0)
        {
            back.Write(buffer, 0, n);
        }
        Assert.Equal(content, back.ToArray());
        Assert.True(await store.ExistsAsync("job1", BlobKind.Model));
        Assert.False(await store.ExistsAsync("job1", BlobKind.Artifact));
    }

    [SkippableFact]
    public async Task A_local_copy_has_the_bytes_and_a_spooled_one_is_removed_on_dispose()
    {
        var store = await StoreAsync();
        var content = RandomNumberGenerator.GetBytes(300_000);
        await store.WriteAsync("job1", BlobKind.Calibration, new MemoryStream(content), long.MaxValue);

        string path;
        using (var local = await store.OpenLocalAsync("job1", BlobKind.Calibration))
        {
            path = local.Path;
            Assert.Equal(content, await File.ReadAllBytesAsync(path));
        }

        Assert.Empty(SpoolFiles());
        Assert.True(await store.ExistsAsync("job1", BlobKind.Calibration));
    }

    [SkippableFact]
    public async Task A_missing_blob_is_null_to_read_and_not_found_as_a_local_file()
    {
        var store = await StoreAsync();

        Assert.Null(await store.OpenReadAsync("nojob", BlobKind.Artifact));
        await Assert.ThrowsAsync<FileNotFoundException>(() => store.OpenLocalAsync("nojob", BlobKind.Model));
    }

    [SkippableFact]
    public async Task A_write_over_the_limit_is_refused_and_leaves_nothing()
    {
        var store = await StoreAsync();

        await Assert.ThrowsAsync<UploadTooLargeException>(() =>
            store.WriteAsync("job1", BlobKind.Model, new MemoryStream(new byte[PostgresBlobStore.ChunkBytes + 10]), PostgresBlobStore.ChunkBytes));

        Assert.False(await store.ExistsAsync("job1", BlobKind.Model));
        Assert.Equal(0, await StoredThingsAsync());
    }

    [SkippableFact]
    public async Task A_source_that_breaks_off_is_the_uploads_fault_and_leaves_nothing_visible()
    {
        var store = await StoreAsync();

        await Assert.ThrowsAsync<UploadReadException>(() =>
            store.WriteAsync("job1", BlobKind.Evaluation, new BreakingStream(PostgresBlobStore.ChunkBytes + 5000), long.MaxValue));

        Assert.False(await store.ExistsAsync("job1", BlobKind.Evaluation));
        await store.DeleteStaleWritesAsync(TimeSpan.Zero, DateTime.UtcNow.AddSeconds(1));
        Assert.Equal(0, await StoredThingsAsync());
    }

    [SkippableFact]
    public async Task A_second_write_replaces_the_first()
    {
        var store = await StoreAsync();
        await store.WriteAsync("job1", BlobKind.Artifact, new MemoryStream([1, 2, 3]), long.MaxValue);

        var second = await store.WriteAsync("job1", BlobKind.Artifact, new MemoryStream([9]), long.MaxValue);

        await using var read = await store.OpenReadAsync("job1", BlobKind.Artifact);
        var back = new MemoryStream();
        await read!.CopyToAsync(back);
        Assert.Equal([9], back.ToArray());
        Assert.Equal(1, second.Bytes);
    }

    [SkippableFact]
    public async Task Deleting_a_job_removes_all_its_blobs_and_only_its()
    {
        var store = await StoreAsync();
        foreach (var kind in Enum.GetValues<BlobKind>())
        {
            await store.WriteAsync("job1", kind, new MemoryStream([1, 2]), long.MaxValue);
        }
        await store.WriteAsync("job2", BlobKind.Artifact, new MemoryStream([5]), long.MaxValue);

        await store.DeleteJobAsync("job1");

        foreach (var kind in Enum.GetValues<BlobKind>())
        {
            Assert.False(await store.ExistsAsync("job1", kind));
        }
        Assert.Equal(["job2"], (await store.StoredJobsAsync()).Select(j => j.JobId));
        await store.DeleteJobAsync("job2");
        Assert.Equal(0, await StoredThingsAsync());
    }

    [SkippableFact]
    public async Task Stored_jobs_carry_the_time_of_their_newest_write()
    {
        var store = await StoreAsync();
        var before = DateTime.UtcNow.AddSeconds(-2);
        await store.WriteAsync("job1", BlobKind.Model, new MemoryStream([1]), long.MaxValue);

        var job = Assert.Single(await store.StoredJobsAsync());

        Assert.Equal("job1", job.JobId);
        Assert.InRange(job.LastWriteUtc, before, DateTime.UtcNow.AddSeconds(2));
    }

    [SkippableFact]
    public async Task The_writable_check_passes_and_leaves_nothing()
    {
        var store = await StoreAsync();

        await store.CheckWritableAsync();

        Assert.Equal(0, await StoredThingsAsync());
    }

    [SkippableFact]
    public async Task Job_ids_that_could_escape_are_refused()
    {
        var store = await StoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteAsync("../x", BlobKind.Model, new MemoryStream([1]), long.MaxValue));
    }

    /// <summary>A source that hands out at most <paramref name="step"/> bytes per read, as a network stream does.</summary>
    private sealed class TrickleStream(byte[] content, int step) : MemoryStream(content)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, step));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, step)], cancellationToken);
    }
}
