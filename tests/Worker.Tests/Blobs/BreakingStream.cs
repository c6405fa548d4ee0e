namespace DSConvService.Worker.Tests.Blobs;

/// <summary>A client's upload that breaks off with an I/O error after <paramref name="bytesBeforeBreak"/> bytes.</summary>
internal sealed class BreakingStream(long bytesBeforeBreak) : Stream
{
    private long _given;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _given; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_given >= bytesBeforeBreak)
        {
            throw new IOException("The connection was reset by the client.");
        }
        var n = (int)Math.Min(count, bytesBeforeBreak - _given);
        buffer.AsSpan(offset, n).Fill(7);
        _given += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var array = new byte[buffer.Length];
        var n = Read(array, 0, array.Length);
        array.AsSpan(0, n).CopyTo(buffer.Span);
        return ValueTask.FromResult(n);
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
