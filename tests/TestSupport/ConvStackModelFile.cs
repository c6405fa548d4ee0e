using Google.Protobuf;
using Onnx;
using static DSConvService.TestSupport.ProtoWire;

namespace DSConvService.TestSupport;

/// <summary>
/// Writes a valid image model of many equal 3x3 Conv layers straight to a file, one weight at a time:
/// x [1,3,S,S] → Conv(3→C) → Relu → (Conv(C→C) → Relu) × (layers − 1) → GlobalAveragePool → Flatten → y [1, C].
/// The weights are seeded pseudo-random (He scale, so activations neither vanish nor explode). For tests
/// of a large model whose largest layer is much smaller than the model.
/// </summary>
public static class ConvStackModelFile
{
    /// <summary>Writes the model; returns the bytes of all its weights.</summary>
    public static long Write(string path, int layers, int channels, int size, int seed = 1)
    {
        var graph = new GraphProto { Name = "conv_stack" };
        graph.Input.Add(FloatValue("x", 1, 3, size, size));
        graph.Output.Add(FloatValue("y", 1, channels));
        var value = "x";
        for (var i = 0; i < layers; i++)
        {
            var conv = new NodeProto { OpType = "Conv", Name = $"conv{i}" };
            conv.Input.AddRange([value, $"conv{i}.weight", $"conv{i}.bias"]);
            conv.Output.Add($"conv{i}.out");
            conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
            conv.Attribute.Add(new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 3, 3 } });
            graph.Node.Add(conv);
            var relu = new NodeProto { OpType = "Relu", Name = $"relu{i}" };
            relu.Input.Add($"conv{i}.out");
            relu.Output.Add($"relu{i}.out");
            graph.Node.Add(relu);
            value = $"relu{i}.out";
            var bias = new TensorProto { Name = $"conv{i}.bias", DataType = (int)TensorProto.Types.DataType.Float };
            bias.Dims.Add(channels);
            bias.RawData = ByteString.CopyFrom(new byte[channels * 4]);
            graph.Initializer.Add(bias);
        }
        var pool = new NodeProto { OpType = "GlobalAveragePool", Name = "pool" };
        pool.Input.Add(value);
        pool.Output.Add("pooled");
        graph.Node.Add(pool);
        var flatten = new NodeProto { OpType = "Flatten", Name = "flatten" };
        flatten.Input.Add("pooled");
        flatten.Output.Add("y");
        graph.Node.Add(flatten);

        var envelope = new ModelProto { IrVersion = 8, ProducerName = "ConvStackModelFile" };
        envelope.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        var weights = Enumerable.Range(0, layers).Select(i =>
        {
            var header = new TensorProto { Name = $"conv{i}.weight", DataType = (int)TensorProto.Types.DataType.Float };
            header.Dims.AddRange([channels, i == 0 ? 3 : channels, 3, 3]);
            return (Header: header.ToByteArray(), Raw: channels * (i == 0 ? 3L : channels) * 9 * 4);
        }).ToList();
        var graphBytes = graph.ToByteArray();
        var graphLength = graphBytes.LongLength + weights.Sum(w => FieldSize(TensorLength(w.Header, w.Raw)));

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        envelope.WriteTo(file);
        WriteTag(file, ModelProto.GraphFieldNumber);
        WriteVarint(file, graphLength);
        file.Write(graphBytes);
        var random = new Random(seed);
        var chunk = new byte[1 << 20];
        long total = 0;
        for (var i = 0; i < layers; i++)
        {
            var (header, raw) = weights[i];
            WriteTag(file, GraphProto.InitializerFieldNumber);
            WriteVarint(file, TensorLength(header, raw));
            file.Write(header);
            WriteTag(file, TensorProto.RawDataFieldNumber);
            WriteVarint(file, raw);
            var scale = (float)Math.Sqrt(2.0 / ((i == 0 ? 3 : channels) * 9)) * 1.7f;
            for (var left = raw; left > 0; left -= chunk.Length)
            {
                var n = (int)Math.Min(chunk.Length, left);
                for (var k = 0; k < n; k += 4)
                {
                    BitConverter.TryWriteBytes(chunk.AsSpan(k), (float)(random.NextDouble() * 2 - 1) * scale);
                }
                file.Write(chunk, 0, n);
            }
            total += raw;
        }
        return total;
    }

    private static long TensorLength(byte[] header, long raw) => header.Length + 1 + VarintSize(raw) + raw;

    private static long FieldSize(long length) => 1 + VarintSize(length) + length;

}
