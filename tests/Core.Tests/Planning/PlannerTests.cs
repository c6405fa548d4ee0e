using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.Core.Planning;
using DSConvService.Core.Quantization;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Planning;

/// <summary>The plan's estimate against the artifact a real quantization writes, on real models.</summary>
public sealed class PlannerTests
{
    public static TheoryData<string, int, int, int, bool> Cases => new()
    {
        { "models/lenet_bn.onnx", 4, 32, 8, false },
        { "models/lenet_bn.onnx", 8, 16, 0, false },
        { "models/resnet_mini.onnx", 4, 32, 8, false },
        { "models/resnet_mini.onnx", 3, 8, 8, true },
    };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void The_estimate_is_within_one_percent_of_the_artifact(string model, int bits, int block, int activationBits, bool kdsBias)
    {
        var bytes = File.ReadAllBytes(TestData.SharedFile(model));
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = block, ActivationBits = activationBits, KdsBias = kdsBias };
        var preprocessing = PreprocessingDefaults.FromModel(OnnxReader.Load(bytes));
        AssertEstimate(bytes, options, preprocessing);
    }

    [SkippableFact]
    public void The_resnet18_estimate_is_within_one_percent_of_the_artifact()
    {
        Skip.IfNot(File.Exists(TestData.ResNet18), "the ResNet18 of the NuGet package is not in the output folder.");
        var bytes = File.ReadAllBytes(TestData.ResNet18);
        AssertEstimate(bytes, new QuantizationOptions(), PreprocessingDefaults.FromModel(OnnxReader.Load(bytes)));
    }

    private static void AssertEstimate(byte[] bytes, QuantizationOptions options, PreprocessingOptions preprocessing)
    {
        var plan = Planner.Plan(bytes, options, preprocessing, threads: 2);
        var quantized = DSConvQuantizer.Quantize(OnnxReader.Load(bytes), options);
        var artifact = quantized.ToArtifactBytes(preprocessing);
        var error = Math.Abs(plan.Totals.EstimatedBytes - artifact.LongLength) / (double)artifact.LongLength;
        Assert.True(error <= 0.01, $"estimated {plan.Totals.EstimatedBytes} bytes, artifact {artifact.LongLength} ({error:P2})");
        Assert.Equal((double)bytes.LongLength / plan.Totals.EstimatedBytes, plan.Totals.CompressionRatio, 6);
        Assert.Equal(quantized.BitsPerWeight, plan.Totals.BitsPerWeight, 2);
        // Per layer: the same layers, MACs and settings as the quantization reports; the layer bytes add up below the total.
        Assert.Equal(quantized.Layers.Select(l => (l.Name, l.Macs, l.WeightBits, l.BlockSize)),
            plan.Layers.Select(l => (l.Name, l.Macs, l.Settings!.WeightBits, l.Settings.BlockSize)));
        Assert.True(plan.Layers.Sum(l => l.EstimatedBytes) < plan.Totals.EstimatedBytes);
        Assert.All(plan.Layers, l => Assert.NotNull(l.OutputShape));
        Assert.Empty(plan.UnsupportedOperators);
    }

    [SkippableFact]
    public void Layers_show_shapes_and_why_they_run_on_the_float_or_integer_kernels()
    {
        var bytes = File.ReadAllBytes(TestData.SharedFile("models/lenet_bn.onnx"));
        var pre = PreprocessingDefaults.FromModel(OnnxReader.Load(bytes));
        var plan = Planner.Plan(bytes, new QuantizationOptions(), pre, threads: 2);
        var first = plan.Layers[0];
        Assert.Equal([1, 1, 28, 28], first.InputShape!);
        Assert.Equal([1, 16, 28, 28], first.OutputShape!);
        Assert.Equal(16 * 25, first.Parameters);
        Assert.Equal(16L * 25 * 28 * 28, first.Macs);
        Assert.Equal(KernelPath.Float, first.KernelPath.Path);
        Assert.Contains("depthwise", first.KernelPath.Reason);
        Assert.Equal(KernelPath.Integer, plan.Layers[1].KernelPath.Path);
        Assert.Equal("INT4", plan.Layers[1].Storage);
        var floatActivations = Planner.Plan(bytes, new QuantizationOptions { ActivationBits = 0, WeightBits = 6 }, pre, threads: 2);
        Assert.All(floatActivations.Layers, l => Assert.Equal(KernelPath.Float, l.KernelPath.Path));
        Assert.All(floatActivations.Layers, l => Assert.Equal("INT8", l.Storage));
    }

    [Fact]
    public void Operators_the_engine_lacks_are_listed()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 3, 8, 8);
        var w = Enumerable.Range(0, 8 * 3 * 9).Select(i => (float)Math.Sin(i)).ToArray();
        var conv = b.Node("Conv", [x, b.Floats([8, 3, 3, 3], w)], new { kernel_shape = new[] { 3, 3 }, pads = new[] { 1, 1, 1, 1 } });
        var odd = b.Node("Einsum", [conv], new { equation = "nchw->nchw" });
        b.Output(odd);
        var bytes = b.ToBytes();
        var plan = Planner.Plan(bytes, new QuantizationOptions(), new PreprocessingOptions { Width = 8, Height = 8 }, threads: 1);
        Assert.Equal(["Einsum"], plan.UnsupportedOperators);
        Assert.Equal(KernelPath.Float, plan.Layers[0].KernelPath.Path);
        Assert.Contains("at most 4 channels", plan.Layers[0].KernelPath.Reason);
    }
}
