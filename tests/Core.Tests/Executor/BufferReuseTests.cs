using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Executor;

/// <summary>
/// A plan hands a value's buffer to a later value of the same size once its last reader has run. That is
/// only right when no buffer is handed on too early (a residual input, a view) and every operator writes
/// all of its output: the poisoned runs fill each output with garbage before its operator runs.
/// </summary>
public class BufferReuseTests
{
    /// <summary>r = Relu(x); a chain of same-size values; r read again at the end (a residual); a view of r read last.</summary>
    private static Model ResidualChain()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 3, 5, 4);
        var r = b.Node("Relu", [x]);
        var n = b.Node("Neg", [r]);
        var a = b.Node("Abs", [n]);
        var s = b.Node("Sigmoid", [a]);
        var sum = b.Node("Add", [s, r]);
        var flat = b.Node("Flatten", [r], new { axis = 1 });
        var t = b.Node("Tanh", [sum]);
        b.Output(b.Node("Mul", [t, b.Node("Neg", [sum])]));
        b.Output(b.Node("Exp", [flat]));
        return b.Build();
    }

    [Fact]
    public void Values_are_not_overwritten_before_their_last_reader()
    {
        var x = RandomTensors.Normal(5, [2, 3, 5, 4]);
        var outs = new InferenceSession(ResidualChain(), new SessionOptions { Optimize = false }).Run(x);
        for (var i = 0; i < x.Length; i++)
        {
            var r = MathF.Max(x.Floats[i], 0f);
            var sum = 1f / (1f + MathF.Exp(-r)) + r;
            Close(MathF.Tanh(sum) * -sum, outs[0].Floats[i]);
            Close(MathF.Exp(r), outs[1].Floats[i]);
        }
    }

    private static void Close(float expected, float actual) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-5f * (1 + Math.Abs(expected)), $"{actual} vs {expected}");

    [Fact]
    public void A_chain_of_same_size_values_shares_buffers()
    {
        var model = ResidualChain();
        var shapes = new[] { new[] { 2, 3, 5, 4 } };
        var reused = new InferenceSession(model, new SessionOptions { Optimize = false }).Plan(shapes);
        var own = new InferenceSession(model, new SessionOptions { Optimize = false, ReuseBuffers = false }).Plan(shapes);
        Assert.True(reused.ValueElements < own.ValueElements, $"{reused.ValueElements} elements with reuse, {own.ValueElements} without");
        // At Neg(sum) four values are alive at once (r for its view, sum, Tanh(sum) and Neg(sum)): four buffers at least.
        Assert.True(reused.ValueElements >= 4 * 120, $"{reused.ValueElements} elements: fewer buffers than live values");
    }

    [Fact]
    public void Runs_again_with_the_same_results_when_buffers_hold_the_last_run()
    {
        var session = new InferenceSession(ResidualChain(), new SessionOptions { Optimize = false });
        var x = RandomTensors.Normal(7, [2, 3, 5, 4]);
        var first = session.Run(x);
        session.Run(RandomTensors.Normal(8, [2, 3, 5, 4]));
        var again = session.Run(x);
        Assert.Equal(first[0].Floats, again[0].Floats);
        Assert.Equal(first[1].Floats, again[1].Floats);
    }

    public static TheoryData<string> SharedModels() => new()
    {
        "models/lenet_bn.onnx", "models/resnet_mini.onnx",
        "models/architectures/mobilenet_v2.onnx", "models/architectures/squeezenet1_1.onnx", "models/architectures/shufflenet_v2_x1_0.onnx",
        "models/architectures/efficientnet_b0.onnx", "models/architectures/googlenet.onnx",
    };

    /// <summary>
    /// Every operator of the real models, in fp32 and as DSConv 4/8/32 on the integer kernels, at batch 2: with
    /// reused and poisoned buffers the outputs are bit for bit those of a plan that gives every value its own.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(SharedModels))]
    public void A_real_model_gives_the_same_bits_with_reused_poisoned_buffers(string relative)
    {
        var model = SymbolicBatch.Apply(OnnxReader.Load(TestData.SharedFile(relative)));
        var quantized = DSConvQuantizer.Quantize(model, new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 8 }).Quantized;
        var shape = model.Graph.RuntimeInputs.First().Shape!.Select((d, i) => i == 0 ? 2 : d).ToArray();
        var x = RandomTensors.Normal(11, shape);
        foreach (var m in new[] { model, quantized })
        {
            var own = new InferenceSession(m, new SessionOptions { Threads = 2, ReuseBuffers = false }).Run(x);
            var poisoned = new InferenceSession(m, new SessionOptions { Threads = 2, PoisonOutputs = true }).Run(x);
            Assert.Equal(own.Length, poisoned.Length);
            for (var i = 0; i < own.Length; i++)
            {
                Assert.Equal(own[i].Floats, poisoned[i].Floats);
            }
        }
    }
}
