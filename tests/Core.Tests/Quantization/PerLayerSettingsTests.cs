using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Errors;
using DSConvService.Core.Execution;
using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

/// <summary>Precision per layer (issue 8): options → DSConv nodes → artifact → engine → report, every combination on the integer kernels.</summary>
public class PerLayerSettingsTests
{
    // 40 → 48 (3x3, pad) → Relu → 48 → 36 (3x3, stride 2, asymmetric pads) → grouped 1x1 (2 groups) → Flatten → Gemm; batch 2.
    private static Model Network()
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 2, 40, 9, 9);
        var y = b.Node("Conv", [x, b.Initializer(RandomTensors.Normal(1, [48, 40, 3, 3], 0.2f)), b.Initializer(RandomTensors.Normal(2, [48], 0.1f))],
            new { pads = new long[] { 1, 1, 1, 1 } });
        y = b.Node("Relu", [y]);
        y = b.Node("Conv", [y, b.Initializer(RandomTensors.Normal(3, [36, 48, 3, 3], 0.2f))], new { strides = new long[] { 2, 2 }, pads = new long[] { 1, 0, 1, 0 } });
        y = b.Node("Conv", [y, b.Initializer(RandomTensors.Normal(4, [20, 18, 1, 1], 0.2f))], new { group = 2L, dilations = new long[] { 1, 1 } });
        y = b.Node("Flatten", [y], new { axis = 1L });
        y = b.Node("Gemm", [y, b.Initializer(RandomTensors.Normal(5, [7, 20 * 5 * 4], 0.1f))], new { transB = 1L });
        return b.Output(y).Build();
    }

    // Mixed 4/8 bits and blocks 16/32/64 (the Gemm keeps the global 4/32), one 6-bit layer with 6-bit activations (stored as INT8).
    private static readonly (int Bits, int Block, int Act)[] Plan = [(8, 16, 8), (4, 64, 8), (6, 16, 6)];

    private static QuantizationOptions Options(IReadOnlyList<string> names, out DSConvSettings[] expected)
    {
        var global = new DSConvSettings { WeightBits = 4, BlockSize = 32, ActivationBits = 8 };
        expected = new DSConvSettings[names.Count];
        var layers = new Dictionary<string, DSConvSettings>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            expected[i] = i < Plan.Length ? global with { WeightBits = Plan[i].Bits, BlockSize = Plan[i].Block, ActivationBits = Plan[i].Act } : global;
            if (i < Plan.Length)
            {
                layers[names[i]] = expected[i];
            }
        }
        return new QuantizationOptions { Format = global, Layers = layers };
    }

    [Fact]
    public void EachLayerKeepsItsSettingsFromOptionsToArtifactToEngineToReport()
    {
        var fp32 = Network();
        var names = DSConvQuantizer.QuantizableLayers(fp32);
        Assert.Equal(4, names.Count);
        var result = DSConvQuantizer.Quantize(fp32, Options(names, out var expected));

        // The DSConv nodes and their integers.
        var nodes = result.Quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        Assert.Equal(names, nodes.Select(n => n.DisplayName));
        for (var i = 0; i < nodes.Count; i++)
        {
            Assert.Equal(expected[i], DSConvSettings.FromNode(nodes[i]));
            Assert.Equal(expected[i].StorageType, result.Quantized.Graph.Initializers[nodes[i].Inputs[DSConvNodes.InputQ]].Type);
        }

        // The artifact: metadata per layer and rebuilt nodes with the same settings.
        var (loaded, meta) = DSConvArtifact.Load(result.ToArtifactBytes());
        var loadedNodes = loaded.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        Assert.Equal(names.Count, meta!.Layers.Count);
        for (var i = 0; i < nodes.Count; i++)
        {
            Assert.Equal(expected[i], meta!.For(names[i]));
            Assert.Equal(expected[i], DSConvSettings.FromNode(loadedNodes[i]));
        }

        // The engine: the loaded artifact against the simulated network (DESIGN 2.3 exactness contract).
        var x = RandomTensors.Normal(3, [2, 40, 9, 9]);
        var integer = new InferenceSession(loaded).Run(x)[0];
        using var sim = Core.Quantization.Simulation.NetworkRunner.Create(DSConvSimulation.ToFloatGraph(result.Quantized, true));
        var diff = RandomTensors.RelativeDiff(integer, sim.RunOutput(x));
        Assert.True(diff <= 1e-5, $"relative difference {diff}");

        // The report's layers table.
        var report = result.Layers;
        for (var i = 0; i < nodes.Count; i++)
        {
            Assert.Equal((expected[i].WeightBits, expected[i].BlockSize, expected[i].ActivationBits), (report[i].WeightBits, report[i].BlockSize, report[i].ActivationBits));
            Assert.Equal(expected[i].StorageBitsPerWeight, report[i].StorageBitsPerWeight);
        }
        Assert.Equal([false, false, true, false], report.Select(l => l.WastesStorage));
        Assert.Contains(result.Notes, n => n.Contains("INT8") && n.Contains(names[2]) && !n.Contains(names[0]));
    }

    [Fact]
    public void EveryMixedConvLayerRunsOnAnIntegerKernel()
    {
        var fp32 = Network();
        var names = DSConvQuantizer.QuantizableLayers(fp32);
        var result = DSConvQuantizer.Quantize(fp32, Options(names, out _));
        foreach (var node in result.Quantized.Graph.Nodes.Where(n => n.OpType == DSConvNodes.Conv))
        {
            var engine = new DSConvEngine(DSConvNodes.ReadWeight(result.Quantized, node), (int)node.GetInt("group", 1), FusedActivation.None);
            Assert.False(engine.UsesFloatPath, $"{node.DisplayName} runs on the float path");
        }
    }

    [Fact]
    public void UnknownLayerNamesAreOptionErrorsNamingThem()
    {
        var fp32 = Network();
        var names = DSConvQuantizer.QuantizableLayers(fp32);
        var options = new QuantizationOptions
        {
            Layers = new Dictionary<string, DSConvSettings> { [names[0]] = DSConvSettings.Default, ["no_such_conv"] = DSConvSettings.Default },
        };
        var e = Assert.Throws<InvalidOptionsException>(() => DSConvQuantizer.Quantize(fp32, options));
        var error = Assert.Single(e.Errors);
        Assert.Contains("layers.no_such_conv", error);
        Assert.Contains(names[0], error);
    }

    [Fact]
    public void EstimatedLayerBytesAddUpToTheArtifact()
    {
        var fp32 = Network();
        var names = DSConvQuantizer.QuantizableLayers(fp32);
        var result = DSConvQuantizer.Quantize(fp32, Options(names, out var expected));
        var nodes = result.Quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        long estimate = 0;
        for (var i = 0; i < nodes.Count; i++)
        {
            var q = result.Quantized.Graph.Initializers[nodes[i].Inputs[DSConvNodes.InputQ]].Shape;
            var (kh, kw) = q.Length == 4 ? (q[2], q[3]) : (1, 1);
            estimate += LayerStorage.EstimatedBytes(expected[i], q[0], q[1], kh, kw, depthwise: false, hasBias: nodes[i].Input(DSConvNodes.InputBias) is not null);
        }
        // The rest of the file is the graph's own framing (inputs, Relu, Flatten, metadata): about a kilobyte.
        var artifact = result.ToArtifactBytes().Length;
        Assert.InRange(artifact - estimate, 0, 1500);
    }

    [Theory]
    [InlineData(2, 4, true)]
    [InlineData(3, 4, true)]
    [InlineData(4, 4, false)]
    [InlineData(5, 8, true)]
    [InlineData(7, 8, true)]
    [InlineData(8, 8, false)]
    public void StorageWidthAndWasteFollowTheBits(int bits, int stored, bool wastes)
    {
        var s = new DSConvSettings { WeightBits = bits };
        Assert.Equal(stored, s.StorageBitsPerWeight);
        Assert.Equal(wastes, s.WastesStorage);
    }

    [SkippableFact]
    public void ResNet18EstimateIsWithinOnePercentOfTheArtifact()
    {
        Skip.IfNot(File.Exists(TestData.ResNet18), $"{TestData.ResNet18} is missing");
        var fp32 = Core.Onnx.OnnxReader.Load(TestData.ResNet18);
        var names = DSConvQuantizer.QuantizableLayers(fp32);
        // Early layers at 8 bits / block 16, the rest at the global 4 / 32.
        var global = new DSConvSettings();
        var options = new QuantizationOptions
        {
            Scale = ScaleRule.Max,
            BiasCorrection = false,
            Layers = names.Take(5).ToDictionary(n => n, _ => global with { WeightBits = 8, BlockSize = 16 }, StringComparer.Ordinal),
        };
        var result = DSConvQuantizer.Quantize(fp32, options);
        var g = result.Quantized.Graph;
        long estimate = 0;
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in g.Nodes.Where(DSConvNodes.IsDSConv))
        {
            var q = g.Initializers[node.Inputs[DSConvNodes.InputQ]].Shape;
            var (kh, kw) = q.Length == 4 ? (q[2], q[3]) : (1, 1);
            estimate += LayerStorage.EstimatedBytes(options.FormatFor(node.DisplayName), q[0], q[1], kh, kw, DSConvSettings.IsDepthwise(node),
                node.Input(DSConvNodes.InputBias) is not null, DSConvNodes.ReadWeight(result.Quantized, node).KdsIsFloat16);
            used.UnionWith(node.Inputs.Where(i => i.Length > 0));
        }
        // Everything else stays float32.
        estimate += g.Initializers.Where(kv => !used.Contains(kv.Key)).Sum(kv => 4L * kv.Value.Length);
        var artifact = result.ToArtifactBytes().Length;
        Assert.True(Math.Abs(artifact - estimate) <= 0.01 * artifact, $"estimate {estimate}, artifact {artifact}");
    }
}
