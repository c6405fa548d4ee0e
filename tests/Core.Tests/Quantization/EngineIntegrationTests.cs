using DSConvService.Core.Execution;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

/// <summary>The quantized model on this engine's DSConv operators: against the simulation, and after an artifact round trip.</summary>
public class EngineIntegrationTests
{
    public static TheoryData<int, int, int, bool, bool> Cases => new()
    {
        { 4, 32, 8, false, false },
        { 4, 4, 8, false, false },
        { 3, 5, 6, true, false },
        { 8, 2, 0, false, true },
        { 2, 3, 8, true, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void IntegerOperatorsMatchTheSimulatedNetwork(int bits, int block, int activationBits, bool kdsBias, bool cds)
    {
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = block, ActivationBits = activationBits, KdsBias = kdsBias, Cds = cds };
        var result = DSConvQuantizer.Quantize(QuantizerTestModels.Mixed(), options);
        var x = RandomTensors.Normal(21, [1, 6, 10, 10]);
        var integer = new InferenceSession(result.Quantized, new SessionOptions { Optimize = false }).Run(x)[0];
        // The simulation runs on this engine when it has every float operator, else on ONNX Runtime (bit-exact BFP either way).
        using var sim = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(result.Quantized, true));
        var simulated = sim.RunOutput(x);
        var diff = RandomTensors.RelativeDiff(integer, simulated);
        Assert.True(diff <= 1e-5, $"relative difference {diff}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LoadedArtifactRunsIdenticallyOnTheEngine(int bits, int block, int activationBits, bool kdsBias, bool cds)
    {
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = block, ActivationBits = activationBits, KdsBias = kdsBias, Cds = cds };
        var result = DSConvQuantizer.Quantize(QuantizerTestModels.Mixed(2), options);
        var (loaded, _) = DSConvArtifact.Load(result.ToArtifactBytes());
        var x = RandomTensors.Normal(22, [1, 6, 10, 10]);
        var inMemory = new InferenceSession(result.Quantized).Run(x)[0];
        var fromFile = new InferenceSession(loaded).Run(x)[0];
        Assert.Equal(inMemory.Floats, fromFile.Floats);
    }

    [SkippableTheory]
    [InlineData("lenet_bn.onnx")]
    [InlineData("resnet_mini.onnx")]
    [InlineData("ResNet18")]
    public void FourBitBlock32ArtifactIsAtLeastSixTimesSmaller(string model)
    {
        var path = model == "ResNet18" ? TestData.ResNet18 : TestData.SharedFile($"models/{model}");
        Skip.IfNot(File.Exists(path), $"{path} is missing");
        var fp32 = File.ReadAllBytes(path);
        var result = DSConvQuantizer.Quantize(OnnxReader.Load(fp32), new QuantizationOptions { WeightBits = 4, BlockSize = 32 });
        var artifact = result.ToArtifactBytes();
        var ratio = (double)fp32.Length / artifact.Length;
        Assert.True(ratio >= 6, $"{model}: {fp32.Length} / {artifact.Length} = {ratio:F2} (bits per weight {result.BitsPerWeight:F3})");
        Assert.InRange(result.BitsPerWeight, 4.5, 5.5);
        var (loaded, meta) = DSConvArtifact.Load(artifact);
        Assert.Equal(result.QuantizedLayers, loaded.Graph.Nodes.Count(DSConvNodes.IsDSConv));
        Assert.Equal(4, meta!.Settings.WeightBits);
    }

    [SkippableTheory]
    [InlineData("lenet_bn.onnx")]
    [InlineData("resnet_mini.onnx")]
    [InlineData("ResNet18")]
    public void OrtRunsRealModelArtifactsLikeTheWeightOnlySimulation(string model)
    {
        var path = model == "ResNet18" ? TestData.ResNet18 : TestData.SharedFile($"models/{model}");
        Skip.IfNot(File.Exists(path), $"{path} is missing");
        var fp32 = OnnxReader.Load(path);
        var result = DSConvQuantizer.Quantize(fp32, new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 0 });
        var shape = fp32.Graph.RuntimeInputs.Single().Shape!.Select(d => d > 0 ? d : 2).ToArray();
        var x = RandomTensors.Normal(5, shape);
        using var ort = new OrtReference(result.ToArtifactBytes(), 2);
        using var sim = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(result.Quantized, simulateActivations: false), forceOrt: true);
        var diff = RandomTensors.RelativeDiff(ort.Run(x)[0], sim.RunOutput(x));
        Assert.True(diff <= 1e-4, $"relative difference {diff}");
    }
}
