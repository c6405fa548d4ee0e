using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using Google.Protobuf;
using Onnx;
using G = DSConvService.Core.Graph;

namespace DSConvService.Core.Onnx;

/// <summary>Reads an ONNX file (IR 3 and up) into a <see cref="Model"/>.</summary>
public static class OnnxReader
{
    public static Model Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream);
    }

    public static Model Load(Stream stream)
    {
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidModelException("The file is not an ONNX model (it does not parse as an ONNX protobuf message).", e);
        }
        return FromProto(proto);
    }

    public static Model Load(byte[] bytes) => Load(new MemoryStream(bytes, writable: false));

    public static Model FromProto(ModelProto proto) => FromProto(proto, null);

    /// <summary>
    /// The model of <paramref name="proto"/>; <paramref name="initializers"/>, when given, replaces the
    /// main graph's initializer list (it is enumerated once, where the graph's own list would be converted).
    /// </summary>
    internal static Model FromProto(ModelProto proto, IEnumerable<(string Name, Tensor Tensor)>? initializers)
    {
        if (proto.Graph is null || (proto.Graph.Node.Count == 0 && proto.Graph.Output.Count == 0))
        {
            throw new InvalidModelException("The file is not an ONNX model (it has no graph).");
        }
        if (proto.IrVersion < 3)
        {
            throw new InvalidModelException($"ONNX IR version {proto.IrVersion} is too old; IR version 3 or newer is needed.");
        }
        var model = new Model(ReadGraph(proto.Graph, initializers))
        {
            IrVersion = proto.IrVersion,
            ProducerName = proto.ProducerName,
            ProducerVersion = proto.ProducerVersion,
        };
        model.Opsets.Clear();
        foreach (var op in proto.OpsetImport)
        {
            var domain = op.Domain == "ai.onnx" ? "" : op.Domain;
            model.Opsets[domain] = op.Version;
        }
        if (!model.Opsets.ContainsKey(""))
        {
            model.Opsets[""] = 1;
        }
        foreach (var kv in proto.MetadataProps)
        {
            model.Metadata[kv.Key] = kv.Value;
        }
        return model;
    }

    private static G.Graph ReadGraph(GraphProto gp, IEnumerable<(string Name, Tensor Tensor)>? initializers = null)
    {
        var g = new G.Graph { Name = gp.Name };
        foreach (var (name, tensor) in initializers ?? gp.Initializer.Select(i => (i.Name, TensorProtoConverter.FromProto(i))))
        {
            g.Initializers[name] = tensor;
        }
        if (gp.SparseInitializer.Count > 0)
        {
            throw new InvalidModelException("Sparse initializers are not supported; store the weights densely.");
        }
        foreach (var vi in gp.Input)
        {
            g.Inputs.Add(ReadValueInfo(vi));
        }
        foreach (var vi in gp.Output)
        {
            g.Outputs.Add(ReadValueInfo(vi));
        }
        foreach (var vi in gp.ValueInfo)
        {
            g.ValueInfos[vi.Name] = ReadValueInfo(vi);
        }
        foreach (var np in gp.Node)
        {
            var node = new Node(np.OpType, np.Input, np.Output, np.Name, np.Domain == "ai.onnx" ? "" : np.Domain);
            foreach (var a in np.Attribute)
            {
                node.Attributes[a.Name] = ReadAttribute(a);
            }
            g.Nodes.Add(node);
        }
        return g;
    }

    private static ValueInfo ReadValueInfo(ValueInfoProto vi)
    {
        var type = DataType.Undefined;
        int[]? shape = null;
        string?[]? names = null;
        if (vi.Type?.TensorType is { } tt)
        {
            type = (DataType)tt.ElemType;
            if (type != DataType.Undefined && !type.IsSupported())
            {
                throw new InvalidModelException($"'{vi.Name}' has tensor element type {tt.ElemType}, which is not supported (float, float16, double, bfloat16, integer and bool tensors are).");
            }
            if (tt.Shape is { } sp)
            {
                shape = new int[sp.Dim.Count];
                names = new string?[sp.Dim.Count];
                for (var i = 0; i < shape.Length; i++)
                {
                    var d = sp.Dim[i];
                    if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue >= 0)
                    {
                        shape[i] = (int)d.DimValue;
                    }
                    else
                    {
                        shape[i] = -1;
                        names[i] = d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : null;
                    }
                }
            }
        }
        return new ValueInfo(vi.Name, type, shape, names);
    }

    private static AttributeValue ReadAttribute(AttributeProto a) => a.Type switch
    {
        AttributeProto.Types.AttributeType.Float => new AttributeValue { Kind = AttributeKind.Float, Float = a.F },
        AttributeProto.Types.AttributeType.Int => new AttributeValue { Kind = AttributeKind.Int, Int = a.I },
        AttributeProto.Types.AttributeType.String => new AttributeValue { Kind = AttributeKind.String, String = a.S.ToStringUtf8() },
        AttributeProto.Types.AttributeType.Tensor => new AttributeValue { Kind = AttributeKind.Tensor, Tensor = TensorProtoConverter.FromProto(a.T ?? throw Missing(a, "tensor")) },
        AttributeProto.Types.AttributeType.Graph => new AttributeValue { Kind = AttributeKind.Graph, Graph = ReadGraph(a.G ?? throw Missing(a, "graph")) },
        AttributeProto.Types.AttributeType.Floats => new AttributeValue { Kind = AttributeKind.Floats, Floats = a.Floats.ToArray() },
        AttributeProto.Types.AttributeType.Ints => new AttributeValue { Kind = AttributeKind.Ints, Ints = a.Ints.ToArray() },
        AttributeProto.Types.AttributeType.Strings => new AttributeValue { Kind = AttributeKind.Strings, Strings = a.Strings.Select(s => s.ToStringUtf8()).ToArray() },
        _ => throw new InvalidModelException($"Attribute '{a.Name}' has type {a.Type}, which is not supported."),
    };

    private static InvalidModelException Missing(AttributeProto a, string what) =>
        new($"Attribute '{a.Name}' is declared as a {what} but holds none.");
}
