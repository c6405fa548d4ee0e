using System.Buffers.Binary;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using Google.Protobuf;
using Onnx;

namespace DSConvService.Core.Onnx;

/// <summary>Converts between ONNX TensorProto and <see cref="Tensor"/>, including packed 4-bit and float16 data.</summary>
public static class TensorProtoConverter
{
    public static Tensor FromProto(TensorProto proto)
    {
        var (type, shape, n) = Header(proto);
        var raw = proto.RawData.Span;
        var hasRaw = !proto.RawData.IsEmpty;
        switch (type)
        {
            case DataType.Float:
            {
                var d = new float[n];
                if (hasRaw)
                {
                    Check(proto, raw.Length, n * 4);
                    for (var i = 0; i < n; i++)
                    {
                        d[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
                    }
                }
                else
                {
                    Check(proto, proto.FloatData.Count, n);
                    proto.FloatData.CopyTo(d, 0);
                }
                return new Tensor(type, shape, d);
            }
            case DataType.Double:
            {
                var d = new float[n];
                if (hasRaw)
                {
                    Check(proto, raw.Length, n * 8);
                    for (var i = 0; i < n; i++)
                    {
                        d[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]);
                    }
                }
                else
                {
                    Check(proto, proto.DoubleData.Count, n);
                    for (var i = 0; i < n; i++)
                    {
                        d[i] = (float)proto.DoubleData[i];
                    }
                }
                return new Tensor(type, shape, d);
            }
            case DataType.Float16:
            case DataType.BFloat16:
            {
                var d = new float[n];
                for (var i = 0; i < n; i++)
                {
                    ushort bits;
                    if (hasRaw)
                    {
                        Check(proto, raw.Length, n * 2);
                        bits = BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]);
                    }
                    else
                    {
                        Check(proto, proto.Int32Data.Count, n);
                        bits = (ushort)proto.Int32Data[i];
                    }
                    d[i] = type == DataType.Float16
                        ? (float)BitConverter.UInt16BitsToHalf(bits)
                        : BitConverter.Int32BitsToSingle(bits << 16);
                }
                return new Tensor(type, shape, d);
            }
            case DataType.Int8:
            case DataType.UInt8:
            {
                Array d = type == DataType.Int8 ? new sbyte[n] : new byte[n];
                for (var i = 0; i < n; i++)
                {
                    int v;
                    if (hasRaw)
                    {
                        Check(proto, raw.Length, n);
                        v = raw[i];
                    }
                    else
                    {
                        Check(proto, proto.Int32Data.Count, n);
                        v = proto.Int32Data[i];
                    }
                    if (type == DataType.Int8)
                    {
                        ((sbyte[])d)[i] = unchecked((sbyte)v);
                    }
                    else
                    {
                        ((byte[])d)[i] = unchecked((byte)v);
                    }
                }
                return new Tensor(type, shape, d);
            }
            case DataType.Int4:
            case DataType.UInt4:
            {
                // Two elements per byte, the first in the low nibble (ONNX packing rule).
                Array d = type == DataType.Int4 ? new sbyte[n] : new byte[n];
                for (var i = 0; i < n; i++)
                {
                    int b;
                    if (hasRaw)
                    {
                        Check(proto, raw.Length, (n + 1) / 2);
                        b = raw[i / 2];
                    }
                    else
                    {
                        Check(proto, proto.Int32Data.Count, (n + 1) / 2);
                        b = proto.Int32Data[i / 2];
                    }
                    var nib = (i & 1) == 0 ? b & 0xF : (b >> 4) & 0xF;
                    if (type == DataType.Int4)
                    {
                        ((sbyte[])d)[i] = (sbyte)(nib >= 8 ? nib - 16 : nib);
                    }
                    else
                    {
                        ((byte[])d)[i] = (byte)nib;
                    }
                }
                return new Tensor(type, shape, d);
            }
            case DataType.Int64:
            case DataType.Int32:
            case DataType.Int16:
            case DataType.UInt16:
            case DataType.UInt32:
            case DataType.UInt64:
            case DataType.Bool:
            {
                var d = new long[n];
                var width = type switch
                {
                    DataType.Int64 or DataType.UInt64 => 8,
                    DataType.Int32 or DataType.UInt32 => 4,
                    DataType.Int16 or DataType.UInt16 => 2,
                    _ => 1,
                };
                if (hasRaw)
                {
                    Check(proto, raw.Length, n * width);
                    for (var i = 0; i < n; i++)
                    {
                        var s = raw[(i * width)..];
                        d[i] = type switch
                        {
                            DataType.Int64 or DataType.UInt64 => BinaryPrimitives.ReadInt64LittleEndian(s),
                            DataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(s),
                            DataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(s),
                            DataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(s),
                            DataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(s),
                            _ => s[0],
                        };
                    }
                }
                else if (type is DataType.Int64)
                {
                    Check(proto, proto.Int64Data.Count, n);
                    proto.Int64Data.CopyTo(d, 0);
                }
                else if (type is DataType.UInt64 or DataType.UInt32)
                {
                    Check(proto, proto.Uint64Data.Count, n);
                    for (var i = 0; i < n; i++)
                    {
                        d[i] = (long)proto.Uint64Data[i];
                    }
                }
                else
                {
                    Check(proto, proto.Int32Data.Count, n);
                    for (var i = 0; i < n; i++)
                    {
                        d[i] = proto.Int32Data[i];
                    }
                }
                return new Tensor(type, shape, d);
            }
            default:
                throw Unsupported(proto);
        }
    }

    /// <summary>
    /// The type and shape of a tensor whose raw_data (of <paramref name="rawLength"/> bytes) is not in
    /// <paramref name="header"/>, refused exactly as <see cref="FromProto"/> would refuse the whole tensor.
    /// </summary>
    public static (DataType Type, int[] Shape) Describe(TensorProto header, long rawLength)
    {
        var (type, shape, n) = Header(header);
        long need = type switch
        {
            DataType.Float or DataType.Int32 or DataType.UInt32 => n * 4L,
            DataType.Double or DataType.Int64 or DataType.UInt64 => n * 8L,
            DataType.Float16 or DataType.BFloat16 or DataType.Int16 or DataType.UInt16 => n * 2L,
            DataType.Int8 or DataType.UInt8 or DataType.Bool => n,
            DataType.Int4 or DataType.UInt4 => (n + 1L) / 2,
            _ => throw Unsupported(header),
        };
        if (rawLength != need)
        {
            throw Corrupt(header, rawLength, need);
        }
        return (type, shape);
    }

    /// <summary>As <see cref="Describe"/>, for a float or double tensor whose <paramref name="count"/> elements are in float_data or double_data.</summary>
    public static (DataType Type, int[] Shape) DescribeTyped(TensorProto header, long count)
    {
        var (type, shape, n) = Header(header);
        if (count != n)
        {
            throw Corrupt(header, count, n);
        }
        return (type, shape);
    }

    private static (DataType Type, int[] Shape, int Elements) Header(TensorProto proto)
    {
        if (proto.DataLocation == TensorProto.Types.DataLocation.External || proto.ExternalData.Count > 0)
        {
            throw new InvalidModelException(
                $"Tensor '{proto.Name}' is stored as external data. External data is refused because its path could point anywhere on disk; save the model with all tensors inside the .onnx file.");
        }
        var type = (DataType)proto.DataType;
        var shape = new int[proto.Dims.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            if (proto.Dims[i] < 0 || proto.Dims[i] > int.MaxValue)
            {
                throw new InvalidModelException($"Tensor '{proto.Name}' has an invalid dimension {proto.Dims[i]}.");
            }
            shape[i] = (int)proto.Dims[i];
        }
        try
        {
            return (type, shape, ShapeUtil.Size(shape));
        }
        catch (ArgumentException)
        {
            throw new InvalidModelException($"Tensor '{proto.Name}' is too large.");
        }
    }

    private static InvalidModelException Unsupported(TensorProto proto) =>
        new($"Tensor '{proto.Name}' has element type {(TensorProto.Types.DataType)proto.DataType}, which is not supported.");

    private static InvalidModelException Corrupt(TensorProto proto, long have, long need) =>
        new($"Tensor '{proto.Name}' holds {have} data items where its shape needs {need}; the file is corrupt.");

    /// <summary>
    /// The serialized size of <see cref="ToProto"/>'s message, without converting the elements: raw_data, the one
    /// field that depends on them, has a length fixed by the type and the element count (and is absent when empty).
    /// </summary>
    public static int SerializedSize(string name, Tensor t)
    {
        var raw = t.Type switch
        {
            DataType.Float or DataType.Int32 or DataType.UInt32 => t.Length * 4L,
            DataType.Double or DataType.Int64 or DataType.UInt64 => t.Length * 8L,
            DataType.Float16 or DataType.BFloat16 or DataType.Int16 or DataType.UInt16 => t.Length * 2L,
            DataType.Int8 or DataType.UInt8 or DataType.Bool => t.Length,
            DataType.Int4 or DataType.UInt4 => (t.Length + 1L) / 2,
            _ => throw new NotSupportedException($"Cannot write tensors of {t.Type}."),
        };
        var field = raw == 0 ? 0 : CodedOutputStream.ComputeTagSize(TensorProto.RawDataFieldNumber) + CodedOutputStream.ComputeLengthSize((int)raw) + raw;
        return checked((int)(HeaderProto(name, t).CalculateSize() + field));
    }

    public static TensorProto ToProto(string name, Tensor t)
    {
        var proto = HeaderProto(name, t);
        var n = t.Length;
        byte[] raw;
        switch (t.Type)
        {
            case DataType.Float:
                raw = new byte[n * 4];
                for (var i = 0; i < n; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), t.Floats[i]);
                }
                break;
            case DataType.Double:
                raw = new byte[n * 8];
                for (var i = 0; i < n; i++)
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(raw.AsSpan(i * 8), t.Floats[i]);
                }
                break;
            case DataType.Float16:
                raw = new byte[n * 2];
                for (var i = 0; i < n; i++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(i * 2), BitConverter.HalfToUInt16Bits((Half)t.Floats[i]));
                }
                break;
            case DataType.BFloat16:
                raw = new byte[n * 2];
                for (var i = 0; i < n; i++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(raw.AsSpan(i * 2), (ushort)(BitConverter.SingleToInt32Bits(t.Floats[i]) >> 16));
                }
                break;
            case DataType.Int8:
                raw = new byte[n];
                Buffer.BlockCopy(t.SBytes, 0, raw, 0, n);
                break;
            case DataType.UInt8:
                raw = (byte[])t.Bytes.Clone();
                break;
            case DataType.Int4:
            case DataType.UInt4:
                raw = new byte[(n + 1) / 2];
                for (var i = 0; i < n; i++)
                {
                    var v = t.Type == DataType.Int4 ? t.SBytes[i] & 0xF : t.Bytes[i] & 0xF;
                    raw[i / 2] |= (byte)((i & 1) == 0 ? v : v << 4);
                }
                break;
            default:
            {
                var width = t.Type switch
                {
                    DataType.Int64 or DataType.UInt64 => 8,
                    DataType.Int32 or DataType.UInt32 => 4,
                    DataType.Int16 or DataType.UInt16 => 2,
                    DataType.Bool => 1,
                    _ => throw new NotSupportedException($"Cannot write tensors of {t.Type}."),
                };
                raw = new byte[n * width];
                var l = t.Longs;
                for (var i = 0; i < n; i++)
                {
                    var s = raw.AsSpan(i * width);
                    switch (width)
                    {
                        case 8: BinaryPrimitives.WriteInt64LittleEndian(s, l[i]); break;
                        case 4: BinaryPrimitives.WriteInt32LittleEndian(s, unchecked((int)l[i])); break;
                        case 2: BinaryPrimitives.WriteInt16LittleEndian(s, unchecked((short)l[i])); break;
                        default: s[0] = (byte)(l[i] != 0 ? 1 : 0); break;
                    }
                }
                break;
            }
        }
        proto.RawData = UnsafeByteOperations.UnsafeWrap(raw); // raw is this proto's own, fresh array: no second copy
        return proto;
    }

    private static TensorProto HeaderProto(string name, Tensor t)
    {
        var proto = new TensorProto { Name = name, DataType = (int)t.Type };
        foreach (var d in t.Shape)
        {
            proto.Dims.Add(d);
        }
        return proto;
    }

    private static void Check(TensorProto proto, int have, int need)
    {
        if (have != need)
        {
            throw Corrupt(proto, have, need);
        }
    }
}
