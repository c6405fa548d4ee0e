using DSConvService.Core.Execution;
using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Onnx.Structure;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Google.Protobuf;
using Onnx;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Core.Tests.Onnx.Structure;

/// <summary>
/// The structural reader against the eager one: the same model, the large weights left in the file
/// (read on demand, to the same values), the same checks passing or failing with the same message.
/// </summary>
public sealed class OnnxStructureReaderTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string> SharedModels() => new()
    {
        "models/lenet_bn.onnx", "models/resnet_mini.onnx", "models/resnet18_int8_qdq.onnx",
        "models/architectures/mobilenet_v2.onnx", "models/architectures/squeezenet1_1.onnx", "models/architectures/shufflenet_v2_x1_0.onnx",
        "models/architectures/efficientnet_b0.onnx", "models/architectures/googlenet.onnx",
    };

    [SkippableTheory]
    [MemberData(nameof(SharedModels))]
    public void A_real_model_reads_as_the_eager_reader_reads_it(string relative) => AssertLikeEager(TestData.SharedFile(relative));

    [SkippableFact]
    public void The_NuGet_ResNet18_reads_as_the_eager_reader_reads_it()
    {
        Skip.IfNot(File.Exists(TestData.ResNet18), "ResNet18.onnx of the NuGet package is not in the output folder.");
        var structure = AssertLikeEager(TestData.ResNet18);
        Assert.Contains(structure.Deferred, d => d.Field == "float_data");
    }

    [Fact]
    public void A_generated_model_reads_as_the_eager_reader_reads_it()
    {
        var path = _dir.File("generated.onnx");
        File.WriteAllBytes(path, GeneratedModel());
        var structure = AssertLikeEager(path);
        Assert.Equal(["conv.w", "fc.w"], structure.Deferred.Select(d => d.Name).Order(StringComparer.Ordinal));
        Assert.True(structure.Model.Graph.Initializers["shape"].IsLoaded, "the Reshape's shape is a small constant, read at once");
    }

    [Fact]
    public void A_deferred_weight_is_read_on_demand_from_its_file_range()
    {
        var path = _dir.File("generated.onnx");
        File.WriteAllBytes(path, GeneratedModel());
        var structure = OnnxStructureReader.Read(path);
        var eager = OnnxReader.Load(path);
        var location = structure.Deferred.Single(d => d.Name == "conv.w");
        Assert.Equal([64, 32, 3, 3], location.Shape);
        Assert.Equal(64 * 32 * 9 * 4, location.Length);
        var raw = new byte[location.Length];
        using (var file = File.OpenRead(path))
        {
            file.Position = location.Offset;
            file.ReadExactly(raw);
        }
        var expected = eager.Graph.Initializers["conv.w"].Floats;
        Assert.Equal(expected, Enumerable.Range(0, expected.Length).Select(i => BitConverter.ToSingle(raw, i * 4)));
        var tensor = structure.Model.Graph.Initializers["conv.w"];
        Assert.False(tensor.IsLoaded);
        Assert.Equal(expected, tensor.Floats);
        Assert.True(tensor.IsLoaded);
    }

    [Fact]
    public void A_deferred_weight_read_uncached_stays_deferred_and_so_do_its_BN_folded_and_quantized_forms()
    {
        var path = _dir.File("generated.onnx");
        File.WriteAllBytes(path, GeneratedModel());
        var eager = OnnxReader.Load(path).Graph.Initializers["conv.w"].Floats;
        var model = OnnxStructureReader.Load(path);
        var tensor = model.Graph.Initializers["conv.w"];

        Assert.Equal(eager, tensor.ToFloatsUncached());
        Assert.NotSame(tensor.ToFloatsUncached(), tensor.ToFloatsUncached());
        Assert.False(tensor.IsLoaded);

        // The quantizer reads each layer's weight once and keeps none of the fp32 weights of the model.
        var reference = DSConvQuantizer.Quantize(OnnxReader.Load(path), new QuantizationOptions());
        var result = DSConvQuantizer.Quantize(model, new QuantizationOptions());
        Assert.False(tensor.IsLoaded);
        Assert.All(result.FloatModel.Graph.Initializers.Where(t => t.Value.Length * 4 > OnnxStructureReader.DefaultEagerBytes), t => Assert.False(t.Value.IsLoaded, t.Key));
        Assert.Equal(OnnxWriter.ToBytes(reference.Quantized), OnnxWriter.ToBytes(result.Quantized));

        // The plan's skeleton (placeholder codes, shapes from inference) reads no weight at all.
        var planned = OnnxStructureReader.Read(path);
        var skeleton = DSConvQuantizer.Skeleton(planned.Model, new QuantizationOptions());
        skeleton.ToArtifactBytes();
        Assert.All(planned.Deferred, d => Assert.False(planned.Model.Graph.Initializers[d.Name].IsLoaded, d.Name));
    }

    [Fact]
    public void Checking_a_model_with_a_256_MiB_weight_allocates_a_few_MiB()
    {
        var path = _dir.File("large.onnx");
        var rawBytes = LargeModelFile.Write(path, 64, 64, 16384);
        Assert.Equal(256L << 20, rawBytes);
        var warmup = _dir.File("warmup.onnx");
        LargeModelFile.Write(warmup, 8, 8, 4096);
        Check(OnnxStructureReader.Load(warmup));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var structure = OnnxStructureReader.Read(path);
        var memory = Check(structure.Model);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"file {new FileInfo(path).Length:N0} bytes; reading the structure and checking shapes, memory plan and layers allocated {allocated:N0} bytes");

        Assert.True(allocated < 16L << 20, $"{allocated:N0} bytes allocated for a {rawBytes:N0}-byte weight");
        var weight = structure.Deferred.Single(d => d.Name == LargeModelFile.WeightName);
        Assert.Equal((DataType.Float, rawBytes, "raw_data"), (weight.Type, weight.Length, weight.Field));
        Assert.Equal([4096, 16384], weight.Shape);
        Assert.False(structure.Model.Graph.Initializers[LargeModelFile.WeightName].IsLoaded);
        Assert.Equal([1, 16384], memory.LargestShape);
        using var file = File.OpenRead(path);
        file.Position = weight.Offset + 4 * 999;
        var bytes = new byte[8];
        file.ReadExactly(bytes);
        Assert.Equal([(999 - 500) * 1e-4f, -500 * 1e-4f], [BitConverter.ToSingle(bytes, 0), BitConverter.ToSingle(bytes, 4)]);
        file.Dispose();
        File.Delete(path);
    }

    public static TheoryData<int> EagerLimits() => new() { 0, 1024, OnnxStructureReader.DefaultEagerBytes };

    [Theory]
    [MemberData(nameof(EagerLimits))]
    public void A_truncated_file_is_refused_with_the_eager_readers_message(int eagerBytes)
    {
        var bytes = GeneratedModel();
        for (var length = 0; length < bytes.Length; length += 1 + length / 8)
        {
            var truncated = bytes[..length];
            var expected = Outcome(() => OnnxReader.Load(truncated));
            var actual = Outcome(() => OnnxStructureReader.Load(truncated, eagerBytes));
            Assert.True(expected == actual, $"cut at {length} of {bytes.Length}: eager '{expected}', structural '{actual}'");
        }
    }

    public static TheoryData<string> Refusals() => new() { "short raw_data", "long raw_data", "external data", "string elements", "negative dimension" };

    [Theory]
    [MemberData(nameof(Refusals))]
    public void A_bad_large_tensor_is_refused_with_the_eager_readers_message(string defect)
    {
        var tensor = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.Add(100_000);
        var raw = new byte[400_000];
        switch (defect)
        {
            case "short raw_data": raw = new byte[399_996]; break;
            case "long raw_data": raw = new byte[400_004]; break;
            case "external data": tensor.DataLocation = TensorProto.Types.DataLocation.External; break;
            case "string elements": tensor.DataType = (int)TensorProto.Types.DataType.String; break;
            default: tensor.Dims[0] = -5; break;
        }
        tensor.RawData = ByteString.CopyFrom(raw);
        var bytes = ModelWith(tensor);

        var expected = Assert.Throws<InvalidModelException>(() => OnnxReader.Load(bytes));
        var actual = Assert.Throws<InvalidModelException>(() => OnnxStructureReader.Load(bytes));
        Assert.Equal(expected.Message, actual.Message);
    }

    private OnnxStructure AssertLikeEager(string path)
    {
        var eager = OnnxReader.Load(path);
        var structure = OnnxStructureReader.Read(path);
        var lazy = structure.Model;
        StructureComparison.AssertSame(eager, lazy, compareData: false);
        foreach (var (name, t) in lazy.Graph.Initializers)
        {
            var deferred = structure.Deferred.Any(d => d.Name == name);
            Assert.True(deferred != t.IsLoaded, $"{name}: deferred {deferred}, loaded {t.IsLoaded}");
        }
        Assert.Equal(Summary(eager), Summary(lazy));
        var read = structure.Deferred.Where(d => lazy.Graph.Initializers[d.Name].IsLoaded).Select(d => d.Name).ToList();
        output.WriteLine($"{Path.GetFileName(path)}: {lazy.Graph.Initializers.Count} initializers, {structure.Deferred.Count} deferred " +
            $"({structure.Deferred.Sum(d => d.Length):N0} bytes), {read.Count} of them read by the checks{(read.Count == 0 ? "" : ": " + string.Join(", ", read.Take(5)))}");
        StructureComparison.AssertSame(eager, lazy, compareData: true);
        return structure;
    }

    /// <summary>What the submission checks compute from a model: the optimized graph's memory plan and its layers.</summary>
    private static ActivationMemory Check(Model model)
    {
        var optimized = GraphOptimizer.Optimize(model, fuseActivations: false);
        var memory = ActivationMemory.Estimate(optimized);
        Assert.NotEmpty(DSConvQuantizer.QuantizableLayers(optimized, optimize: false));
        return memory;
    }

    /// <summary>The checks' findings (or their refusal, e.g. of the QDQ model's QuantizeLinear) as text.</summary>
    private static string Summary(Model model)
    {
        try
        {
            var m = Check(model);
            return $"plan {m.PlanBytes}, scratch {m.ScratchBytes}, largest {m.LargestTensor} {m.LargestBytes} from {m.LargestNode}; layers "
                + string.Join(",", DSConvQuantizer.QuantizableLayers(model));
        }
        catch (InvalidModelException e)
        {
            return e.Message;
        }
    }

    private static string Outcome(Func<Model> read)
    {
        try
        {
            var m = read();
            return $"model with {m.Graph.Nodes.Count} nodes, {m.Graph.Initializers.Count} initializers";
        }
        catch (InvalidModelException e)
        {
            return e.Message;
        }
    }

    /// <summary>Conv (73 KiB weight) → BN → Relu → Reshape (by a small shape constant) → Gemm (128 KiB weight).</summary>
    private static byte[] GeneratedModel()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 32, 8, 8);
        var w = b.Initializer(RandomTensors.Normal(1, [64, 32, 3, 3], 0.1f), "conv.w");
        var conv = b.Node("Conv", [x, w, b.Initializer(RandomTensors.Normal(2, [64], 0.1f), "conv.b")], new { pads = new long[] { 1, 1, 1, 1 } });
        var bn = b.Node("BatchNormalization", [conv, b.Initializer(RandomTensors.Normal(3, [64], 1f), "bn.scale"),
            b.Initializer(RandomTensors.Normal(4, [64], 0.1f), "bn.bias"), b.Initializer(RandomTensors.Normal(5, [64], 0.1f), "bn.mean"),
            b.Initializer(Tensor.FromFloats([64], Enumerable.Repeat(1f, 64).ToArray()), "bn.var")]);
        var pooled = b.Node("GlobalAveragePool", [b.Node("Relu", [bn])]);
        var flat = b.Node("Reshape", [pooled, b.Initializer(Tensor.FromLongs([2], [1, 64]), "shape")]);
        var y = b.Node("Gemm", [flat, b.Initializer(RandomTensors.Normal(6, [512, 64], 0.1f), "fc.w"), b.Initializer(RandomTensors.Normal(7, [512], 0.1f), "fc.b")],
            new { transB = 1L });
        return b.Output(y).ToBytes();
    }

    private static byte[] ModelWith(TensorProto tensor)
    {
        var graph = new GraphProto { Name = "g" };
        graph.Initializer.Add(tensor);
        var node = new NodeProto { OpType = "Relu", Name = "r" };
        node.Input.Add("x");
        node.Output.Add("y");
        graph.Node.Add(node);
        graph.Input.Add(new ValueInfoProto { Name = "x" });
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }
}
