using Google.Protobuf;
using Onnx;
using static DSConvService.TestSupport.ProtoWire;

namespace DSConvService.TestSupport;

/// <summary>
/// Writes a valid image model with one very large weight straight to a file, without holding it:
/// x [1,1,H,W] → Flatten → Gemm(B [H·W, N], C [N]) → y [1, N]. The envelope and the small tensors are
/// serialized by the protobuf classes; B's raw_data is written in chunks as one more field of the graph.
/// </summary>
public static class LargeModelFile
{
    public const string WeightName = "fc.weight";

    /// <summary>Writes the model; returns the size of B's raw_data in bytes.</summary>
    public static long Write(string path, int height, int width, int outputs)
    {
        var k = height * width;
        var graph = new GraphProto { Name = "large" };
        graph.Input.Add(FloatValue("x", 1, 1, height, width));
        graph.Output.Add(FloatValue("y", 1, outputs));
        graph.Node.Add(Node("Flatten", "flatten", ["x"], ["flat"], new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 }));
        graph.Node.Add(Node("Gemm", "fc", ["flat", WeightName, "fc.bias"], ["y"]));
        var bias = new TensorProto { Name = "fc.bias", DataType = (int)TensorProto.Types.DataType.Float };
        bias.Dims.Add(outputs);
        bias.RawData = ByteString.CopyFrom(new byte[outputs * 4]);
        graph.Initializer.Add(bias);
        var header = new TensorProto { Name = WeightName, DataType = (int)TensorProto.Types.DataType.Float };
        header.Dims.Add(k);
        header.Dims.Add(outputs);

        var envelope = new ModelProto { IrVersion = 8, ProducerName = "LargeModelFile" };
        envelope.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });

        var rawBytes = (long)k * outputs * 4;
        var headerBytes = header.ToByteArray();
        var graphBytes = graph.ToByteArray();
        var tensorLength = headerBytes.Length + 1 + VarintSize(rawBytes) + rawBytes;
        var initializerField = 1 + VarintSize(tensorLength) + tensorLength;

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        envelope.WriteTo(file);
        WriteTag(file, ModelProto.GraphFieldNumber);
        WriteVarint(file, graphBytes.Length + initializerField);
        file.Write(graphBytes);
        WriteTag(file, GraphProto.InitializerFieldNumber);
        WriteVarint(file, tensorLength);
        file.Write(headerBytes);
        WriteTag(file, TensorProto.RawDataFieldNumber);
        WriteVarint(file, rawBytes);
        var chunk = new byte[1 << 20];
        for (var i = 0; i < chunk.Length / 4; i++)
        {
            BitConverter.TryWriteBytes(chunk.AsSpan(i * 4), (i % 1000 - 500) * 1e-4f);
        }
        for (var left = rawBytes; left > 0; left -= chunk.Length)
        {
            file.Write(chunk, 0, (int)Math.Min(chunk.Length, left));
        }
        return rawBytes;
    }

    private static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }
}
