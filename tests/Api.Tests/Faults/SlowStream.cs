namespace DSConvService.Api.Tests.Faults;

/// <summary>An upload body that trickles (64 KiB every 20 ms), so that a process can be killed while it arrives.</summary>
internal sealed class SlowStream(long length) : Stream
{
    private long _position;

    public long Sent => _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Delay(20, cancellationToken);
        var n = (int)Math.Min(Math.Min(buffer.Length, 64 * 1024), length - _position);
        buffer.Span[..n].Fill(0x5A);
        _position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
