using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Passes;

/// <summary>
/// A squeeze-and-excitation gate folded into the DSConv layer that reads the gated tensor (<see cref="GateFusion"/>): the
/// layer multiplies as it packs, so its outputs must be bit for bit those of the graph with the Mul node. The unfused
/// reference is the same model with the Mul's output also a graph output (a second reader stops the fusion).
/// </summary>
public class GateFusionTests
{
    /// <summary>
    /// x → Conv 3×3 → Relu → t; GlobalAveragePool(t) → 1×1 Conv → Relu → 1×1 Conv → Sigmoid → gate; Mul(t, gate) →
    /// 1×1 Conv → y. <paramref name="gateChannels"/> 1 gives one factor per image.
    /// </summary>
    private static Model SqueezeNet(int channels, int size, int gateChannels, bool gateFirst = false)
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 3, size, size);
        var t = b.Node("Relu", [b.Node("Conv", [x, b.Initializer(RandomTensors.Normal(1, [channels, 3, 3, 3], 0.4f)), b.Initializer(RandomTensors.Normal(2, [channels], 0.1f))],
            new { kernel_shape = new[] { 3, 3 }, pads = new[] { 1, 1, 1, 1 } })]);
        var squeezed = b.Node("GlobalAveragePool", [t]);
        var fc1 = b.Node("Relu", [b.Node("Conv", [squeezed, b.Initializer(RandomTensors.Normal(3, [8, channels, 1, 1], 0.4f))], new { kernel_shape = new[] { 1, 1 } })]);
        var gate = b.Node("Sigmoid", [b.Node("Conv", [fc1, b.Initializer(RandomTensors.Normal(4, [gateChannels, 8, 1, 1], 0.6f))], new { kernel_shape = new[] { 1, 1 } })]);
        var gated = b.Node("Mul", gateFirst ? [gate, t] : [t, gate]);
        b.Output(b.Node("Conv", [gated, b.Initializer(RandomTensors.Normal(5, [24, channels, 1, 1], 0.3f))], new { kernel_shape = new[] { 1, 1 } }));
        return SymbolicBatch.Apply(b.Build());
    }

    private static Model Quantized(Model model) =>
        DSConvQuantizer.Quantize(model, new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 8 }).Quantized;

    /// <summary>The same model with every Mul output also a graph output, so no gate is fused.</summary>
    private static Model Unfused(Model model)
    {
        var copy = ModelCloner.Clone(model);
        foreach (var mul in copy.Graph.Nodes.Where(n => n.OpType == "Mul").ToList())
        {
            copy.Graph.Outputs.Add(new ValueInfo(mul.Outputs[0], DataType.Float, null));
        }
        return copy;
    }

    [Theory]
    [InlineData(40, 28, 40, 1, false)]
    [InlineData(40, 28, 40, 2, true)]
    [InlineData(72, 7, 72, 3, false)]
    [InlineData(40, 9, 1, 2, false)]
    [InlineData(40, 1, 40, 2, false)]
    public void A_folded_gate_gives_the_bits_of_the_Mul(int channels, int size, int gateChannels, int batch, bool gateFirst)
    {
        var quantized = Quantized(SqueezeNet(channels, size, gateChannels, gateFirst));
        var fused = new InferenceSession(quantized, new SessionOptions { Threads = 2, PoisonOutputs = true });
        Assert.Contains(fused.Model.Graph.Nodes, n => n.GetInt(GateFusion.Attribute, 0) == 1);
        Assert.DoesNotContain(fused.Model.Graph.Nodes, n => n.OpType == "Mul");
        var unfused = new InferenceSession(Unfused(quantized), new SessionOptions { Threads = 2 });
        Assert.Contains(unfused.Model.Graph.Nodes, n => n.OpType == "Mul");
        var x = RandomTensors.Normal(batch, [batch, 3, size, size]);
        foreach (var threads in new[] { 1, 2 })
        {
            var a = new InferenceSession(quantized, new SessionOptions { Threads = threads }).Run(x)[0];
            Assert.Equal(unfused.Run(x)[0].Floats, a.Floats);
        }
        Assert.Equal(unfused.Run(x)[0].Floats, fused.Run(x)[0].Floats);
    }

    [Fact]
    public void A_Mul_of_two_full_maps_is_not_a_gate()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 8, 6, 6);
        var t = b.Node("Relu", [x]);
        var gated = b.Node("Mul", [t, b.Node("Sigmoid", [x])]);
        b.Output(b.Node("Conv", [gated, b.Initializer(RandomTensors.Normal(5, [4, 8, 1, 1], 0.3f))], new { kernel_shape = new[] { 1, 1 } }));
        var session = new InferenceSession(Quantized(SymbolicBatch.Apply(b.Build())));
        Assert.Contains(session.Model.Graph.Nodes, n => n.OpType == "Mul");
        Assert.DoesNotContain(session.Model.Graph.Nodes, n => n.GetInt(GateFusion.Attribute, 0) == 1);
    }

    /// <summary>EfficientNet-B0's 16 squeeze-and-excitation gates, DSConv 4/8/32, batch 1 and 2: bit for bit the graph with its Muls.</summary>
    [SkippableFact]
    public void EfficientNet_gives_the_bits_of_its_Muls()
    {
        var model = SymbolicBatch.Apply(OnnxReader.Load(TestData.SharedFile("models/architectures/efficientnet_b0.onnx")));
        var quantized = Quantized(model);
        var fused = new InferenceSession(quantized, new SessionOptions { Threads = 2 });
        Assert.Equal(16, fused.Model.Graph.Nodes.Count(n => n.GetInt(GateFusion.Attribute, 0) == 1));
        var unfused = new InferenceSession(Unfused(quantized), new SessionOptions { Threads = 2 });
        foreach (var batch in new[] { 1, 2 })
        {
            var x = RandomTensors.Normal(batch, [batch, 3, 224, 224]);
            Assert.Equal(unfused.Run(x)[0].Floats, fused.Run(x)[0].Floats);
        }
    }
}
