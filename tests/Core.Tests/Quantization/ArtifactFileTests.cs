using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx.Structure;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

/// <summary>
/// The artifact as a file: saved with the bytes of the in-memory writer, and read back structurally, its codes
/// staying in the file (a session reads them to pack its kernels; the model keeps none) and running like the bytes.
/// </summary>
public sealed class ArtifactFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [MemberData(nameof(ArtifactTests.Cases), MemberType = typeof(ArtifactTests))]
    public void SaveArtifact_writes_the_bytes_of_ToArtifactBytes(int bits, int block, bool kdsBias, bool cds, bool f16)
    {
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = block, ActivationBits = 8, KdsBias = kdsBias, Cds = cds, KdsFloat16 = f16 };
        var result = DSConvQuantizer.Quantize(QuantizerTestModels.Mixed(), options);
        var pre = new PreprocessingOptions { Width = 10, Height = 10, ColorMode = ColorMode.Bgr, Mean = [1, 2, 3] };
        string[] labels = ["a", "b", "c", "d", "e", "f", "g"];
        var path = _dir.File("artifact.onnx");

        var size = result.SaveArtifact(path, pre, labels);

        var bytes = result.ToArtifactBytes(pre, labels);
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Equal(bytes.LongLength, size);
    }

    [Fact]
    public void An_artifact_read_from_its_file_leaves_its_codes_there_and_runs_like_its_bytes()
    {
        var fp32 = _dir.File("stack.onnx");
        const int layers = 3;
        ConvStackModelFile.Write(fp32, layers, 128, 6);
        var path = _dir.File("artifact.onnx");
        DSConvQuantizer.Quantize(OnnxStructureReader.Load(fp32), new QuantizationOptions()).SaveArtifact(path);

        var (fromFile, meta) = DSConvArtifact.Load(path);
        var (fromBytes, _) = DSConvArtifact.Load(File.ReadAllBytes(path));

        Assert.NotNull(meta);
        var codes = fromFile.Graph.Nodes.Where(DSConvNodes.IsDSConv).Select(n => fromFile.Graph.Initializers[n.Inputs[DSConvNodes.InputQ]]).ToList();
        Assert.Equal(layers, codes.Count);
        // The 3-channel stem's codes are small enough to be read at once; the others stay in the file.
        var deferred = codes.Where(q => !q.IsLoaded).ToList();
        Assert.Equal(layers - 1, deferred.Count);
        var x = RandomTensors.Normal(3, [1, 3, 6, 6]);
        using var a = NetworkRunner.Create(fromFile, threads: 1);
        using var b = NetworkRunner.Create(fromBytes, threads: 1);
        Assert.True(a.UsesEngine);
        Assert.Equal(b.RunOutput(x).Floats, a.RunOutput(x).Floats);
        Assert.All(deferred, q => Assert.False(q.IsLoaded));
    }
}
