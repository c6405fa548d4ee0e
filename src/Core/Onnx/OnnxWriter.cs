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
            ToProto(model).WriteTo(fs);
        }
        File.Move(tmp, path, overwrite: true);
    }

    public static ModelProto ToProto(Model model)
    {
        var proto = new ModelProto
        {
            IrVersion = model.IrVersion,
            ProducerName = model.ProducerName,
            ProducerVersion = model.ProducerVersion,
            Graph = WriteGraph(model.Graph),
        };
        foreach (var (domain, version) in model.Opsets)
        {
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        }
        foreach (var (k, v) in model.Metadata)
        {
            proto.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        }
        return proto;
    }

    private static GraphProto WriteGraph(G.Graph g)
    {
        var gp = new GraphProto { Name = g.Name };
        foreach (var (name, t) in g.Initializers)
        {
            gp.Initializer.Add(TensorProtoConverter.ToProto(name, t));
        }
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
        return gp;
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
