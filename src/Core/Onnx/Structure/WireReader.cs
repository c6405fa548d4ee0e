using DSConvService.Core.Graph;

namespace DSConvService.Core.Onnx.Structure;

/// <summary>
/// The protobuf wire format read field by field from a seekable stream, with the absolute position of
/// every byte, so a payload can be skipped (one seek) or copied instead of parsed. Every length is
/// checked against the end of the enclosing message before it is used.
/// </summary>
internal sealed class WireReader(Stream stream)
{
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, StartGroup = 3, EndGroup = 4, Fixed32 = 5;

    private readonly byte[] _buffer = new byte[64 * 1024];
    private long _bufferStart;
    private int _next, _end;

    public long Length { get; } = stream.Length;

    /// <summary>Absolute position of the next byte to read.</summary>
    public long Position => _bufferStart + _next;

    public static uint Tag(int field, int wireType) => (uint)(field << 3 | wireType);

    // Tags and lengths are 32-bit varints, read as the generated parser reads them: up to 10 bytes, the
    // bits above 32 dropped (so a file it accepts is accepted here, and one it refuses refused).
    public uint ReadTag(long end)
    {
        var tag = (uint)ReadVarint(end);
        if (tag >> 3 == 0 || (tag & 7) > Fixed32)
        {
            throw NotProtobuf();
        }
        return tag;
    }

    /// <summary>The length prefix of a length-delimited field; its payload must fit before <paramref name="end"/>.</summary>
    public long ReadLength(long end)
    {
        var length = (int)(uint)ReadVarint(end);
        if (length < 0 || length > end - Position)
        {
            throw NotProtobuf();
        }
        return length;
    }

    public ulong ReadVarint(long end)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte(end);
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw NotProtobuf();
    }

    public void Skip(long count)
    {
        if (count <= _end - _next)
        {
            _next += (int)count;
            return;
        }
        var target = Position + count;
        if (target > Length)
        {
            throw NotProtobuf();
        }
        stream.Position = target;
        _bufferStart = target;
        _next = _end = 0;
    }

    /// <summary>Copies the field whose tag was just read (tag included) to <paramref name="target"/>.</summary>
    public void CopyField(uint tag, Stream target, long end)
    {
        WriteVarint(target, tag);
        switch ((int)(tag & 7))
        {
            case Varint:
                WriteVarint(target, ReadVarint(end));
                break;
            case Fixed64:
                CopyBytes(target, 8, end);
                break;
            case Fixed32:
                CopyBytes(target, 4, end);
                break;
            case LengthDelimited:
                var length = ReadLength(end);
                WriteVarint(target, (ulong)length);
                CopyBytes(target, length, end);
                break;
            case StartGroup:
                while (true)
                {
                    var inner = ReadTag(end);
                    if ((inner & 7) == EndGroup)
                    {
                        if (inner >> 3 != tag >> 3)
                        {
                            throw NotProtobuf();
                        }
                        WriteVarint(target, inner);
                        break;
                    }
                    CopyField(inner, target, end);
                }
                break;
            default:
                throw NotProtobuf();
        }
    }

    /// <summary>The error every malformed or truncated file gets, the one of the eager reader.</summary>
    public static InvalidModelException NotProtobuf(Exception? inner = null) =>
        new("The file is not an ONNX model (it does not parse as an ONNX protobuf message).", inner);

    private void CopyBytes(Stream target, long count, long end)
    {
        if (count > end - Position)
        {
            throw NotProtobuf();
        }
        while (count > 0)
        {
            if (_next == _end)
            {
                Fill();
            }
            var n = (int)Math.Min(count, _end - _next);
            target.Write(_buffer, _next, n);
            _next += n;
            count -= n;
        }
    }

    private byte ReadByte(long end)
    {
        if (Position >= end)
        {
            throw NotProtobuf();
        }
        if (_next == _end)
        {
            Fill();
        }
        return _buffer[_next++];
    }

    private void Fill()
    {
        _bufferStart += _end;
        _next = 0;
        _end = stream.Read(_buffer, 0, _buffer.Length);
        if (_end == 0)
        {
            throw NotProtobuf();
        }
    }

    private static void WriteVarint(Stream target, ulong value)
    {
        while (value >= 0x80)
        {
            target.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        target.WriteByte((byte)value);
    }
}
