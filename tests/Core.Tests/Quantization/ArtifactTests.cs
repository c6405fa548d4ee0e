using DSConvService.Core.Evaluation;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

public class ArtifactTests
{
    public static TheoryData<int, int, bool, bool, bool> Cases => new()
    {
        { 4, 32, false, false, true },
        { 4, 4, false, false, true },
        { 3, 5, true, false, true },
        { 8, 2, false, true, false },
        { 2, 3, true, true, true },
        { 6, 1, false, false, false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OrtRunsTheArtifactLikeTheWeightOnlySimulation(int bits, int block, bool kdsBias, bool cds, bool f16)
    {
        var fp32 = QuantizerTestModels.Mixed();
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = block, ActivationBits = 0, KdsBias = kdsBias, Cds = cds, KdsFloat16 = f16 };
        var result = DSConvQuantizer.Quantize(fp32, options);
        Assert.Equal(5, result.QuantizedLayers);
        Assert.Empty(result.SkippedLayers);

        var artifact = result.ToArtifactBytes();
        var proto = OnnxReader.Load(artifact);
        Assert.Equal(21, proto.DefaultOpset);
        Assert.Equal(10, proto.IrVersion);
        Assert.Equal(5, proto.Graph.Nodes.Count(n => n.OpType == "DequantizeLinear"));
        Assert.All(proto.Graph.Nodes, n => Assert.Equal("", n.Domain));
        var qType = bits <= 4 ? DataType.Int4 : DataType.Int8;
        Assert.Equal(5, proto.Graph.Initializers.Values.Count(t => t.Type == qType));

        var x = RandomTensors.Normal(9, [1, 6, 10, 10]);
        using var ort = new OrtReference(artifact, 1);
        var fromFile = ort.Run(x)[0];
        using var sim = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(result.Quantized, simulateActivations: false), forceOrt: true);
        var simulated = sim.RunOutput(x);
        Assert.True(RandomTensors.RelativeDiff(fromFile, simulated) <= 1e-4, $"relative difference {RandomTensors.RelativeDiff(fromFile, simulated)}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LoadRebuildsTheSameDSConvNodes(int bits, int block, bool kdsBias, bool cds, bool f16)
    {
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = block, ActivationBits = 8, KdsBias = kdsBias, Cds = cds, KdsFloat16 = f16 };
        var result = DSConvQuantizer.Quantize(QuantizerTestModels.Mixed(), options);
        var labels = Enumerable.Range(0, 7).Select(i => $"class {i}").ToArray();
        var pre = new Core.Imaging.PreprocessingOptions { Width = 10, Height = 10, ColorMode = Core.Imaging.ColorMode.Bgr, Mean = [1, 2, 3] };
        var (loaded, meta) = DSConvArtifact.Load(result.ToArtifactBytes(pre, labels));

        Assert.NotNull(meta);
        Assert.Equal(labels, meta!.Labels);
        Assert.Equal(pre.ColorMode, meta.Preprocessing!.ColorMode);
        Assert.Equal(pre.Mean, meta.Preprocessing.Mean);
        Assert.Equal(8, meta.Settings.ActivationBits);
        Assert.Equal(block, meta.Settings.BlockSize);

        var expected = result.Quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        var actual = loaded.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            Assert.Equal(e.OpType, a.OpType);
            Assert.Equal(e.Outputs, a.Outputs);
            Assert.Equal(e.Inputs[0], a.Inputs[0]);
            Assert.Equal(e.Inputs.Count, a.Inputs.Count);
            Assert.Equal(e.Attributes.Keys.Order(), a.Attributes.Keys.Order());
            foreach (var (k, v) in e.Attributes)
            {
                Assert.Equal(v.Kind, a.Attributes[k].Kind);
                Assert.Equal(v.Int, a.Attributes[k].Int);
                Assert.Equal(v.Ints, a.Attributes[k].Ints);
            }
            for (var k = 1; k < e.Inputs.Count; k++)
            {
                Assert.Equal(e.Input(k) is null, a.Input(k) is null);
                if (e.Input(k) is null)
                {
                    continue;
                }
                var te = result.Quantized.Graph.Initializers[e.Inputs[k]];
                var ta = loaded.Graph.Initializers[a.Inputs[k]];
                Assert.Equal(te.Type, ta.Type);
                Assert.Equal(te.Shape, ta.Shape);
                Assert.Equal(te.ToFloats(), ta.ToFloats());
            }
        }
        // Same network once simulated: identical weights, so identical outputs.
        var x = RandomTensors.Normal(4, [1, 6, 10, 10]);
        using var a1 = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(result.Quantized, true));
        using var a2 = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(loaded, true));
        Assert.Equal(a1.RunOutput(x).Floats, a2.RunOutput(x).Floats);
    }
}
