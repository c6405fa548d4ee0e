using Npgsql;

namespace DSConvService.Worker.Blobs;

/// <summary>
/// Reads a PostgreSQL blob one chunk at a time into one reused buffer (sequential access, so the
/// driver does not allocate a chunk either): memory stays at one chunk whatever the blob's size.
/// </summary>
internal sealed class PostgresBlobReadStream(NpgsqlDataSource db, long blobId, long length) : Stream
{
    private readonly byte[] _chunk = new byte[PostgresBlobStore.ChunkBytes];
    private int _seq;
    private int _chunkLength;
    private int _chunkOffset;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_chunkOffset == _chunkLength)
        {
            if (_position >= length)
            {
                return 0;
            }
            using var connection = db.OpenConnection();
            using var query = Query(connection);
            using var reader = query.ExecuteReader(System.Data.CommandBehavior.SequentialAccess);
            Load(reader.Read(), reader);
        }
        return Take(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_chunkOffset == _chunkLength)
        {
            if (_position >= length)
            {
                return 0;
            }
            await using var connection = await db.OpenConnectionAsync(cancellationToken);
            await using var query = Query(connection);
            await using var reader = await query.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess, cancellationToken);
            Load(await reader.ReadAsync(cancellationToken), reader);
        }
        return Take(buffer.Span);
    }

    private NpgsqlCommand Query(NpgsqlConnection connection)
    {
        var query = new NpgsqlCommand("SELECT data FROM blob_chunks WHERE blob_id = $1 AND seq = $2;", connection);
        query.Parameters.Add(new() { Value = blobId });
        query.Parameters.Add(new() { Value = _seq });
        return query;
    }

    private void Load(bool found, NpgsqlDataReader reader)
    {
        if (!found)
        {
            throw new IOException($"Chunk {_seq} of blob {blobId} is missing (the blob was deleted or replaced while it was read).");
        }
        var size = (int)reader.GetBytes(0, 0, null, 0, 0);
        if (size > _chunk.Length)
        {
            throw new IOException($"Chunk {_seq} of blob {blobId} is larger than a chunk.");
        }
        _chunkLength = (int)reader.GetBytes(0, 0, _chunk, 0, size);
        _chunkOffset = 0;
        _seq++;
    }

    private int Take(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _chunkLength - _chunkOffset);
        _chunk.AsSpan(_chunkOffset, n).CopyTo(buffer);
        _chunkOffset += n;
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
