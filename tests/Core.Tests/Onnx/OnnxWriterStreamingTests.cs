using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;
using DSConvService.Core.Tests.Quantization;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Onnx;

/// <summary>The streaming writer (one initializer at a time) writes exactly the bytes of the whole-message writer.</summary>
public sealed class OnnxWriterStreamingTests
{
    [Fact]
    public void WriteTo_writes_the_bytes_of_ToBytes_for_every_kind_of_initializer_and_graph_field()
    {
        var model = QuantizerTestModels.Mixed();
        var g = model.Graph;
        g.Name = "mixed";
        g.Initializers["empty"] = Tensor.Zeros(DataType.Float, [0]);
        g.Initializers["longs"] = Tensor.FromLongs([3], [1, -2, long.MaxValue]);
        g.Initializers["flags"] = new Tensor(DataType.Bool, [2], new long[] { 1, 0 });
        g.Initializers["codes"] = new Tensor(DataType.Int4, [5], new sbyte[] { -8, 7, 0, 1, -1 });
        g.Initializers["halves"] = new Tensor(DataType.Float16, [2], new[] { 0.5f, -2f });
        g.Initializers["big"] = RandomTensors.Normal(3, [64, 64, 3, 3]);
        g.ValueInfos["extra"] = new ValueInfo("extra", DataType.Float, [1, 8, -1, 10], [null, null, "h", null]);
        model.Metadata["key"] = "value";
        model.ProducerName = "tests";

        using var stream = new MemoryStream();
        OnnxWriter.WriteTo(model, stream);

        Assert.Equal(OnnxWriter.ToBytes(model), stream.ToArray());
    }

    [Fact]
    public void Save_writes_the_bytes_of_ToBytes()
    {
        using var dir = new TempDirectory();
        var model = QuantizerTestModels.Mixed();
        var path = dir.File("model.onnx");

        OnnxWriter.Save(model, path);

        Assert.Equal(OnnxWriter.ToBytes(model), File.ReadAllBytes(path));
        Assert.Single(Directory.EnumerateFiles(dir.Path));
    }
}
