using System.Security.Cryptography;
using DSConvService.TestSupport;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Worker.Tests.Support;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Worker.Tests.Blobs;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasurements
{
    /// <summary>Tests that count the process's allocations run alone.</summary>
    public const string Name = "allocation measurements";
}

/// <summary>
/// A large blob goes in and out of each store with memory bounded by a chunk, not by its size: the
/// bytes the whole process allocates while 64 MiB are written, read and spooled stay far below 64 MiB.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public sealed class BlobStreamingMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const int BlobBytes = 64 << 20;
    private const long AllowedAllocation = 12 << 20;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public Task On_the_file_system() => MeasureAsync(new FileBlobStore(new FileStore(_dir.Path)));

    [SkippableFact]
    public async Task On_postgres()
    {
        await using var db = NpgsqlDataSource.Create(PostgresServer.Shared.CreateDatabase());
        var store = new PostgresBlobStore(db, new FileStore(_dir.Path));
        await store.InitializeAsync();
        await MeasureAsync(store);
    }

    private async Task MeasureAsync(IBlobStore store)
    {
        await store.WriteAsync("warmup", BlobKind.Model, new GeneratedStream(3 << 20), long.MaxValue);
        await DrainAsync(store, "warmup");
        using (await store.OpenLocalAsync("warmup", BlobKind.Model))
        {
        }

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var stored = await store.WriteAsync("big", BlobKind.Model, new GeneratedStream(BlobBytes), long.MaxValue);
        var written = GC.GetTotalAllocatedBytes(precise: true) - before;
        var hash = await DrainAsync(store, "big");
        using (var local = await store.OpenLocalAsync("big", BlobKind.Model))
        {
            Assert.Equal(BlobBytes, new FileInfo(local.Path).Length);
        }
        var total = GC.GetTotalAllocatedBytes(precise: true) - before;

        output.WriteLine($"{store.GetType().Name}: 64 MiB written with {written / 1024.0 / 1024:F1} MiB allocated; written + read + spooled with {total / 1024.0 / 1024:F1} MiB");
        Assert.Equal(BlobBytes, stored.Bytes);
        Assert.Equal(stored.Sha256, hash);
        Assert.True(total < AllowedAllocation, $"{total} bytes allocated to move a {BlobBytes}-byte blob (allowed {AllowedAllocation})");
    }

    private static async Task<string> DrainAsync(IBlobStore store, string jobId)
    {
        await using var read = (await store.OpenReadAsync(jobId, BlobKind.Model))!;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        int n;
        while ((n = await read.ReadAsync(buffer)) > 0)
        {
            sha.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Pseudo-random bytes made on the fly: the source itself holds nothing.</summary>
    private sealed class GeneratedStream(long length) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            for (var i = 0; i < n; i++)
            {
                buffer[i] = (byte)((_position + i) * 2654435761 >> 13);
            }
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
