using DSConvService.Core.Evaluation;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Core.Tests.Evaluation;

/// <summary>The accuracy targets of issue 3 on the real MNIST models (skipped without ../shared/data).</summary>
public class MnistAccuracyTests(ITestOutputHelper output)
{
    private static readonly Lazy<(List<Tensor>, List<int>)> Eval = new(() => ImageData.Mnist(TestData.SharedFile("mnist/mnist-eval-2000.zip")));
    private static readonly Lazy<List<Tensor>> Calib = new(() => ImageData.Mnist(TestData.SharedFile("mnist/mnist-calib-256.zip")).Inputs);

    private (double Fp32, double Quantized) Top1(string model, QuantizationOptions options, bool adapt)
    {
        var path = TestData.SharedFile($"models/{model}");
        TestData.SharedFile("mnist/mnist-eval-2000.zip");
        var bytes = File.ReadAllBytes(path);
        var (inputs, labels) = Eval.Value;
        var result = DSConvQuantizer.Quantize(OnnxReader.Load(bytes), options with { Adapt = adapt }, adapt ? Calib.Value : null);
        var eval = ModelEvaluator.Evaluate(bytes, result.Quantized, inputs, labels, new EvaluationOptions { MeasureLatency = false, LayerSamples = 4 });
        var acc = eval.Accuracy!;
        output.WriteLine($"{model} {options.WeightBits}/{options.ActivationBits}/{options.BlockSize} adapt={adapt}: fp32 {acc.Fp32Top1:P2} quantized {acc.QuantizedTop1:P2} drop {acc.Top1Drop * 100:F2} points; agreement {eval.Fidelity.Top1Agreement:P2}; {string.Join(" | ", result.Notes)}");
        return (acc.Fp32Top1, acc.QuantizedTop1);
    }

    [SkippableTheory]
    [InlineData("lenet_bn.onnx")]
    [InlineData("resnet_mini.onnx")]
    public void FourBitDataFreeDropsAtMostThreeTenthsOfAPoint(string model)
    {
        var (fp32, q) = Top1(model, new QuantizationOptions { WeightBits = 4, ActivationBits = 8, BlockSize = 32 }, adapt: false);
        Assert.True(fp32 - q <= 0.003, $"top-1 drop {(fp32 - q) * 100:F2} points");
    }

    [SkippableTheory]
    [InlineData("lenet_bn.onnx")]
    [InlineData("resnet_mini.onnx")]
    public void ThreeBitWithAdaptationDropsAtMostOnePoint(string model)
    {
        var (fp32, q) = Top1(model, new QuantizationOptions { WeightBits = 3, ActivationBits = 8, BlockSize = 32 }, adapt: true);
        Assert.True(fp32 - q <= 0.01, $"top-1 drop {(fp32 - q) * 100:F2} points");
    }
}
