using Onnx;

namespace DSConvService.TestSupport;

/// <summary>
/// The protobuf wire pieces the large-model writers need to stream a ModelProto field by field (a length-delimited
/// tag and its varint length) instead of building the whole message in memory, and the float ValueInfo they declare.
/// </summary>
internal static class ProtoWire
{
    /// <summary>The tag of a length-delimited field (wire type 2).</summary>
    public static void WriteTag(Stream s, int field) => WriteVarint(s, field << 3 | 2);

    public static void WriteVarint(Stream s, long value)
    {
        var v = (ulong)value;
        while (v >= 0x80)
        {
            s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        s.WriteByte((byte)v);
    }

    public static int VarintSize(long value)
    {
        var n = 1;
        for (var v = (ulong)value; v >= 0x80; v >>= 7)
        {
            n++;
        }
        return n;
    }

    /// <summary>A float tensor value of the given shape.</summary>
    public static ValueInfoProto FloatValue(string name, params long[] shape)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        foreach (var d in shape)
        {
            tensor.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
