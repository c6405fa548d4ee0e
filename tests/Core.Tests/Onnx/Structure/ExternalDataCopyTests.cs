using DSConvService.Core.Evaluation;
using DSConvService.Core.Onnx;
using DSConvService.Core.Onnx.Structure;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Onnx;
using Xunit;

namespace DSConvService.Core.Tests.Onnx.Structure;

/// <summary>
/// The external-data copy ONNX Runtime runs as the fp32 reference: the same outputs as the file itself,
/// every external offset a multiple of 4096 (so it is mapped), and no file left after disposal or cancellation.
/// </summary>
public sealed class ExternalDataCopyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Large_initializers_go_to_the_data_file_at_aligned_offsets_and_disposal_deletes_every_file()
    {
        var model = _dir.File("stack.onnx");
        ConvStackModelFile.Write(model, 3, 64, 6);
        var copy = ExternalDataCopy.Write(model, _dir.File("ref"));
        var skeleton = copy.WriteSkeleton(["conv0.out"]);

        // conv0's weight (64·3·9 floats, 6.9 KB) stays inline; conv1's and conv2's (64·64·9, 147 KB) go to the data file.
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(skeleton));
        var external = proto.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        Assert.Equal(["conv1.weight", "conv2.weight"], external.Select(t => t.Name));
        Assert.Equal(2, copy.ExternalTensors);
        Assert.Contains(proto.Graph.Output, o => o.Name == "conv0.out");
        Assert.True(new FileInfo(skeleton).Length < 16 * 1024, $"skeleton of {new FileInfo(skeleton).Length} bytes");

        copy.Dispose();
        Assert.Equal([model], Directory.EnumerateFiles(_dir.Path));
    }

    [Fact]
    public void Offsets_are_multiples_of_4096_and_the_session_computes_what_the_original_computes()
    {
        var model = _dir.File("stack.onnx");
        ConvStackModelFile.Write(model, 3, 32, 6);
        using var copy = ExternalDataCopy.Write(model, _dir.File("ref"), eagerBytes: 1024);
        var skeleton = copy.WriteSkeleton();

        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(skeleton));
        var external = proto.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        Assert.Equal(3, external.Count);
        Assert.All(external, t => Assert.Equal(0, long.Parse(t.ExternalData.Single(e => e.Key == "offset").Value) % ExternalDataCopy.Alignment));
        Assert.All(external, t => Assert.Empty(t.RawData));

        var x = Input([1, 3, 6, 6]);
        using var original = new OrtReference(File.ReadAllBytes(model), 1);
        using var mapped = new OrtReference(skeleton, 1);
        Assert.Equal(original.Run(x)[0].Floats, mapped.Run(x)[0].Floats);
    }

    [Fact]
    public void The_fp32_reference_of_a_file_returns_layer_outputs_as_the_original_computes_them()
    {
        var model = _dir.File("stack.onnx");
        ConvStackModelFile.Write(model, 4, 64, 6);
        using var reference = Fp32Reference.FromFile(model, _dir.File("ref"));
        using var fromBytes = Fp32Reference.FromBytes(File.ReadAllBytes(model));
        Assert.Contains("relu2.out", reference.NodeOutputs);

        var x = Input([1, 3, 6, 6]);
        using var a = reference.Open(1, ["conv1.out", "relu2.out"]);
        using var b = fromBytes.Open(1, ["conv1.out", "relu2.out"]);
        Assert.Equal(["y", "conv1.out", "relu2.out"], a.OutputNames);
        var ya = a.Run(x);
        var yb = b.Run(x);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(yb[i].Floats, ya[i].Floats);
        }
    }

    [Fact]
    public void A_cancelled_copy_leaves_no_file()
    {
        var model = _dir.File("stack.onnx");
        ConvStackModelFile.Write(model, 3, 64, 6);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => ExternalDataCopy.Write(model, _dir.File("ref"), eagerBytes: 1024, cancelled.Token));

        Assert.Equal([model], Directory.EnumerateFiles(_dir.Path));
    }

    private static Tensor Input(int[] shape)
    {
        var random = new Random(3);
        var data = new float[ShapeUtil.Size(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)random.NextDouble();
        }
        return Tensor.FromFloats(shape, data);
    }
}
