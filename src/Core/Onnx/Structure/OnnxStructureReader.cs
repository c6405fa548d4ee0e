using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using Google.Protobuf;
using Onnx;

namespace DSConvService.Core.Onnx.Structure;

/// <summary>
/// Reads an ONNX file's structure without its large weights: the main graph's initializers whose
/// message is larger than the eager limit and whose elements are in raw_data (or packed float_data /
/// double_data) become deferred tensors (type and shape known, bytes read from the file range on
/// first use); everything else is parsed by the generated parsers and converted as
/// <see cref="OnnxReader"/> does, with the same errors.
/// Only the small tensors shape inference may need as values (Reshape shapes, axes) are held.
/// </summary>
public static class OnnxStructureReader
{
    /// <summary>Initializers up to this size are read at once (shape-like constants are far smaller).</summary>
    public const int DefaultEagerBytes = 64 * 1024;

    private static readonly uint GraphTag = WireReader.Tag(ModelProto.GraphFieldNumber, WireReader.LengthDelimited);
    private static readonly uint InitializerTag = WireReader.Tag(GraphProto.InitializerFieldNumber, WireReader.LengthDelimited);
    private static readonly uint RawDataTag = WireReader.Tag(TensorProto.RawDataFieldNumber, WireReader.LengthDelimited);
    private static readonly uint FloatDataTag = WireReader.Tag(TensorProto.FloatDataFieldNumber, WireReader.LengthDelimited);
    private static readonly uint DoubleDataTag = WireReader.Tag(TensorProto.DoubleDataFieldNumber, WireReader.LengthDelimited);

    public static Model Load(string path, int eagerBytes = DefaultEagerBytes) => Read(path, eagerBytes).Model;

    public static Model Load(byte[] bytes, int eagerBytes = DefaultEagerBytes) => Read(bytes, eagerBytes).Model;

    public static OnnxStructure Read(string path, int eagerBytes = DefaultEagerBytes) =>
        Read(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1), eagerBytes);

    public static OnnxStructure Read(byte[] bytes, int eagerBytes = DefaultEagerBytes) =>
        Read(() => new MemoryStream(bytes, writable: false), eagerBytes);

    /// <summary><paramref name="open"/> gives a seekable stream of the file, now and whenever a deferred tensor is read.</summary>
    public static OnnxStructure Read(Func<Stream> open, int eagerBytes = DefaultEagerBytes)
    {
        var (proto, tensors) = Walk(open, eagerBytes);
        var deferred = new List<InitializerLocation>();
        var model = OnnxReader.FromProto(proto, Convert(tensors, deferred, open));
        return new OnnxStructure(model, deferred);
    }

    /// <summary>The model without its main-graph initializers (parsed), and those initializers as read.</summary>
    internal static (ModelProto Proto, List<PendingTensor> Tensors) Walk(Func<Stream> open, int eagerBytes)
    {
        var tensors = new List<PendingTensor>();
        var modelRest = new MemoryStream();
        var graphRest = new MemoryStream();
        var sawGraph = false;
        using (var stream = open())
        {
            var reader = new WireReader(stream);
            var end = reader.Length;
            while (reader.Position < end)
            {
                var tag = reader.ReadTag(end);
                if (tag == GraphTag)
                {
                    var length = reader.ReadLength(end);
                    ReadGraph(reader, reader.Position + length, graphRest, tensors, eagerBytes);
                    sawGraph = true;
                }
                else
                {
                    reader.CopyField(tag, modelRest, end);
                }
            }
        }
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(modelRest.GetBuffer(), 0, (int)modelRest.Length);
            if (sawGraph)
            {
                proto.Graph = GraphProto.Parser.ParseFrom(graphRest.GetBuffer(), 0, (int)graphRest.Length);
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw WireReader.NotProtobuf(e);
        }
        return (proto, tensors);
    }

    /// <summary>
    /// A main-graph initializer as read: complete; or a header whose elements stay in one field of the file
    /// (<see cref="DataTag"/>: raw_data, or packed float_data / double_data); or, for layouts too unusual
    /// to defer, only the place of the whole message, parsed eagerly when it is converted.
    /// </summary>
    internal sealed record PendingTensor(TensorProto Proto, uint DataTag = 0, long DataOffset = -1, long DataLength = 0, long WholeOffset = -1, long WholeLength = 0)
    {
        public bool IsDeferred => DataOffset >= 0;
        public bool IsWhole => WholeOffset >= 0;
    }

    private static void ReadGraph(WireReader reader, long end, MemoryStream rest, List<PendingTensor> tensors, int eagerBytes)
    {
        while (reader.Position < end)
        {
            var tag = reader.ReadTag(end);
            if (tag == InitializerTag)
            {
                var length = reader.ReadLength(end);
                tensors.Add(ReadTensor(reader, reader.Position + length, defer: length > eagerBytes));
            }
            else
            {
                reader.CopyField(tag, rest, end);
            }
        }
    }

    private static PendingTensor ReadTensor(WireReader reader, long end, bool defer)
    {
        var start = reader.Position;
        var header = new MemoryStream();
        long rawOffset = -1, rawLength = 0, packedOffset = -1, packedLength = 0;
        uint packedTag = 0;
        var unusual = false;
        while (reader.Position < end)
        {
            var tag = reader.ReadTag(end);
            if (defer && tag == RawDataTag)
            {
                // A bytes field seen twice keeps its last value, as the generated parser does.
                rawLength = reader.ReadLength(end);
                rawOffset = reader.Position;
                reader.Skip(rawLength);
            }
            else if (defer && (tag == FloatDataTag || tag == DoubleDataTag))
            {
                // Packed chunks concatenate; more than one chunk is left to the eager parse.
                unusual |= packedTag != 0;
                packedTag = tag;
                packedLength = reader.ReadLength(end);
                if (packedLength % (tag == FloatDataTag ? 4 : 8) != 0)
                {
                    // The generated parser refuses a packed chunk that ends inside an element.
                    throw WireReader.NotProtobuf();
                }
                packedOffset = reader.Position;
                reader.Skip(packedLength);
            }
            else
            {
                reader.CopyField(tag, header, end);
            }
        }
        TensorProto proto;
        try
        {
            proto = TensorProto.Parser.ParseFrom(header.GetBuffer(), 0, (int)header.Length);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw WireReader.NotProtobuf(e);
        }
        if (rawLength > 0)
        {
            // Non-empty raw_data is what the converter reads; typed fields are then ignored.
            return new PendingTensor(proto, RawDataTag, rawOffset, rawLength);
        }
        if (packedTag == 0)
        {
            return new PendingTensor(proto);
        }
        var type = packedTag == FloatDataTag ? (int)TensorProto.Types.DataType.Float : (int)TensorProto.Types.DataType.Double;
        return unusual || proto.DataType != type || proto.FloatData.Count > 0 || proto.DoubleData.Count > 0
            ? new PendingTensor(proto, WholeOffset: start, WholeLength: end - start)
            : new PendingTensor(proto, packedTag, packedOffset, packedLength);
    }

    // Lazy, so tensors are converted (and refused) where OnnxReader converts the graph's own list.
    private static IEnumerable<(string Name, Tensor Tensor)> Convert(List<PendingTensor> tensors, List<InitializerLocation> deferred, Func<Stream> open)
    {
        foreach (var p in tensors)
        {
            if (p.IsWhole)
            {
                yield return (p.Proto.Name, TensorProtoConverter.FromProto(ParseWhole(open, p)));
                continue;
            }
            if (!p.IsDeferred)
            {
                yield return (p.Proto.Name, TensorProtoConverter.FromProto(p.Proto));
                continue;
            }
            var (type, shape) = p.DataTag == RawDataTag
                ? TensorProtoConverter.Describe(p.Proto, p.DataLength)
                : TensorProtoConverter.DescribeTyped(p.Proto, p.DataLength / (p.DataTag == FloatDataTag ? 4 : 8));
            if (p.DataLength > Array.MaxLength)
            {
                throw new InvalidModelException($"Tensor '{p.Proto.Name}' is too large.");
            }
            var field = p.DataTag == RawDataTag ? "raw_data" : p.DataTag == FloatDataTag ? "float_data" : "double_data";
            deferred.Add(new InitializerLocation(p.Proto.Name, type, (int[])shape.Clone(), p.DataOffset, p.DataLength, field));
            yield return (p.Proto.Name, Tensor.Deferred(type, shape, () => ReadDeferred(open, p)));
        }
    }

    private static Array ReadDeferred(Func<Stream> open, PendingTensor p)
    {
        if (p.DataTag == RawDataTag && p.Proto.DataType == (int)TensorProto.Types.DataType.Float && BitConverter.IsLittleEndian)
        {
            // Little-endian floats are the elements' own bytes: read into the array itself, not through a byte copy.
            var floats = GC.AllocateUninitializedArray<float>((int)(p.DataLength / 4));
            ReadRange(open, p.DataOffset, System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()), p.Proto.Name);
            return floats;
        }
        var bytes = GC.AllocateUninitializedArray<byte>((int)p.DataLength);
        ReadRange(open, p.DataOffset, bytes, p.Proto.Name);
        var full = p.Proto.Clone();
        if (p.DataTag == RawDataTag)
        {
            full.RawData = UnsafeByteOperations.UnsafeWrap(bytes);
        }
        else
        {
            var field = new MemoryStream(bytes.Length + 16);
            var output = new CodedOutputStream(field, leaveOpen: true);
            output.WriteTag(p.DataTag);
            output.WriteBytes(UnsafeByteOperations.UnsafeWrap(bytes));
            output.Flush();
            full.MergeFrom(field.GetBuffer(), 0, (int)field.Length);
        }
        return TensorProtoConverter.FromProto(full).Data;
    }

    internal static TensorProto ParseWhole(Func<Stream> open, PendingTensor p)
    {
        var bytes = GC.AllocateUninitializedArray<byte>((int)p.WholeLength);
        ReadRange(open, p.WholeOffset, bytes, p.Proto.Name);
        try
        {
            return TensorProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw WireReader.NotProtobuf(e);
        }
    }

    private static void ReadRange(Func<Stream> open, long offset, Span<byte> bytes, string tensor)
    {
        using var stream = open();
        stream.Position = offset;
        try
        {
            stream.ReadExactly(bytes);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidModelException($"Tensor '{tensor}' could not be read: the model file is shorter than when it was checked.", e);
        }
    }
}
