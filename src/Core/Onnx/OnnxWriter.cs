using DSConvService.Core.Graph;
using Google.Protobuf;
using Onnx;
using G = DSConvService.Core.Graph;

namespace DSConvService.Core.Onnx;

/// <summary>Writes a <see cref="Model"/> as a self-contained ONNX file.</summary>
public static class OnnxWriter
{
    public static byte[] ToBytes(Model model) => ToProto(model).ToByteArray();

    public static void Save(Model model, string path)
    {
        // Written beside the target and renamed, so a reader never sees half a file.
        var tmp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        using (var fs = File.Create(tmp))
        {
            WriteTo(model, fs);
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>
    /// Writes the bytes of <see cref="ToBytes"/> to <paramref name="stream"/>, converting one initializer at a time, so
    /// no protobuf copy of all the weights (nor the whole file) is held. Protobuf writes fields in field-number order, so
    /// the model is the concatenation of its parts: the fields before the graph, the graph's tag and length, the graph's
    /// nodes and name, each initializer (field 5), the graph's inputs, outputs and value infos, then the fields after it.
    /// </summary>
    public static void WriteTo(Model model, Stream stream)
    {
        var g = model.Graph;
        var graphHead = new GraphProto { Name = g.Name };
        WriteNodes(g, graphHead);
        var graphTail = new GraphProto();
        WriteValueInfos(g, graphTail);
        var modelHead = new ModelProto { IrVersion = model.IrVersion, ProducerName = model.ProducerName, ProducerVersion = model.ProducerVersion };
        var modelTail = new ModelProto();
        WriteOpsetsAndMetadata(model, modelTail);

        // The graph's length comes first; the initializers' sizes are known without converting their elements.
        long graphLength = graphHead.CalculateSize() + graphTail.CalculateSize();
        foreach (var (name, t) in g.Initializers)
        {
            graphLength += InitializerTagSize + LengthPrefixed(TensorProtoConverter.SerializedSize(name, t));
        }
        var output = new CodedOutputStream(stream, leaveOpen: true);
        modelHead.WriteTo(output);
        output.WriteTag(ModelProto.GraphFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteLength(checked((int)graphLength));
        graphHead.WriteTo(output);
        foreach (var (name, t) in g.Initializers)
        {
            output.WriteTag(GraphProto.InitializerFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteMessage(TensorProtoConverter.ToProto(name, t));
        }
        graphTail.WriteTo(output);
        modelTail.WriteTo(output);
        output.Flush();
    }

    private static readonly int InitializerTagSize = CodedOutputStream.ComputeTagSize(GraphProto.InitializerFieldNumber);

    private static long LengthPrefixed(int length) => CodedOutputStream.ComputeLengthSize(length) + (long)length;

    public static ModelProto ToProto(Model model)
    {
        var proto = new ModelProto
        {
            IrVersion = model.IrVersion,
            ProducerName = model.ProducerName,
            ProducerVersion = model.ProducerVersion,
            Graph = WriteGraph(model.Graph),
        };
        WriteOpsetsAndMetadata(model, proto);
        return proto;
    }

    private static void WriteOpsetsAndMetadata(Model model, ModelProto proto)
    {
        foreach (var (domain, version) in model.Opsets)
        {
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        }
        foreach (var (k, v) in model.Metadata)
        {
            proto.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        }
    }

    private static GraphProto WriteGraph(G.Graph g)
    {
        var gp = new GraphProto { Name = g.Name };
        foreach (var (name, t) in g.Initializers)
        {
            gp.Initializer.Add(TensorProtoConverter.ToProto(name, t));
        }
        WriteValueInfos(g, gp);
        WriteNodes(g, gp);
        return gp;
    }

    private static void WriteValueInfos(G.Graph g, GraphProto gp)
    {
        foreach (var vi in g.Inputs)
        {
            gp.Input.Add(WriteValueInfo(vi));
        }
        foreach (var vi in g.Outputs)
        {
            gp.Output.Add(WriteValueInfo(vi));
        }
        foreach (var vi in g.ValueInfos.Values)
        {
            gp.ValueInfo.Add(WriteValueInfo(vi));
        }
    }

    private static void WriteNodes(G.Graph g, GraphProto gp)
    {
        foreach (var n in g.Nodes)
        {
            var np = new NodeProto { OpType = n.OpType, Name = n.Name, Domain = n.Domain };
            np.Input.AddRange(n.Inputs);
            np.Output.AddRange(n.Outputs);
            foreach (var (name, a) in n.Attributes)
            {
                np.Attribute.Add(WriteAttribute(name, a));
            }
            gp.Node.Add(np);
        }
    }

    private static ValueInfoProto WriteValueInfo(ValueInfo vi)
    {
        var tt = new TypeProto.Types.Tensor { ElemType = (int)vi.Type };
        if (vi.Shape is { } shape)
        {
            tt.Shape = new TensorShapeProto();
            for (var i = 0; i < shape.Length; i++)
            {
                var dim = new TensorShapeProto.Types.Dimension();
                if (shape[i] >= 0)
                {
                    dim.DimValue = shape[i];
                }
                else if (vi.DimNames?[i] is { } dn)
                {
                    dim.DimParam = dn;
                }
                tt.Shape.Dim.Add(dim);
            }
        }
        return new ValueInfoProto { Name = vi.Name, Type = new TypeProto { TensorType = tt } };
    }

    private static AttributeProto WriteAttribute(string name, AttributeValue a)
    {
        var p = new AttributeProto { Name = name };
        switch (a.Kind)
        {
            case AttributeKind.Float: p.Type = AttributeProto.Types.AttributeType.Float; p.F = a.Float; break;
            case AttributeKind.Int: p.Type = AttributeProto.Types.AttributeType.Int; p.I = a.Int; break;
            case AttributeKind.String: p.Type = AttributeProto.Types.AttributeType.String; p.S = ByteString.CopyFromUtf8(a.String); break;
            case AttributeKind.Tensor: p.Type = AttributeProto.Types.AttributeType.Tensor; p.T = TensorProtoConverter.ToProto("", a.Tensor!); break;
            case AttributeKind.Graph: p.Type = AttributeProto.Types.AttributeType.Graph; p.G = WriteGraph(a.Graph!); break;
            case AttributeKind.Floats: p.Type = AttributeProto.Types.AttributeType.Floats; p.Floats.AddRange(a.Floats); break;
            case AttributeKind.Ints: p.Type = AttributeProto.Types.AttributeType.Ints; p.Ints.AddRange(a.Ints); break;
            case AttributeKind.Strings: p.Type = AttributeProto.Types.AttributeType.Strings; p.Strings.AddRange(a.Strings.Select(ByteString.CopyFromUtf8)); break;
        }
        return p;
    }
}
