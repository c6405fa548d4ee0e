using DSConvService.Core.Evaluation;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Core.Tests.Evaluation;

/// <summary>ImageNet ResNet18 (NuGet featurizer) on the shared photos: cosine of the 512-d features, fp32 (ONNX Runtime) vs DSConv 4/8/32.</summary>
public class ResNet18FidelityTests(ITestOutputHelper output)
{
    private static (byte[] Model, List<Tensor> Photos) Load()
    {
        var dir = TestData.SharedFile("photos");
        Skip.IfNot(File.Exists(TestData.ResNet18), "The NuGet ResNet18 is not in the output folder.");
        var photos = Directory.GetFiles(dir, "*.png").Order(StringComparer.Ordinal).Select(ImageData.ResNet18Photo).ToList();
        return (File.ReadAllBytes(TestData.ResNet18), photos);
    }

    [SkippableFact]
    public void DataFreeFourBitKeepsTheFeaturesClose()
    {
        var (bytes, photos) = Load();
        var result = DSConvQuantizer.Quantize(OnnxReader.Load(bytes), new QuantizationOptions { WeightBits = 4, ActivationBits = 8, BlockSize = 32 });
        var eval = ModelEvaluator.Evaluate(bytes, result.Quantized, photos, null, new EvaluationOptions { MeasureLatency = false, LayerSamples = 1 });
        output.WriteLine($"data-free 4/8/32: mean cosine {eval.Fidelity.Cosine:F4}, SQNR {eval.Fidelity.OutputSqnrDb:F2} dB on {photos.Count} photos, quantized in {result.QuantizeSeconds:F2} s");
        // The independent reference simulation measured 0.943 here.
        Assert.InRange(eval.Fidelity.Cosine, 0.92, 1.0);
    }

    [SkippableFact]
    public void AdaptationOnHalfThePhotosReachesCosine098OnTheOtherHalf()
    {
        var (bytes, photos) = Load();
        var calibration = photos.Where((_, i) => i % 2 == 0).ToList();
        var held = photos.Where((_, i) => i % 2 == 1).ToList();
        var result = DSConvQuantizer.Quantize(OnnxReader.Load(bytes), new QuantizationOptions { WeightBits = 4, Adapt = true }, calibration);
        var eval = ModelEvaluator.Evaluate(bytes, result.Quantized, held, null, new EvaluationOptions { MeasureLatency = false, LayerSamples = 1 });
        output.WriteLine($"adapted 4/8/32: mean cosine {eval.Fidelity.Cosine:F4} on {held.Count} held-out photos; {string.Join(" | ", result.Notes)}");
        Assert.True(eval.Fidelity.Cosine >= 0.98, $"mean cosine {eval.Fidelity.Cosine:F4}");
    }
}
