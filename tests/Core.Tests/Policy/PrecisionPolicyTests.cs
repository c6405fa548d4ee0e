using DSConvService.Core.Evaluation;
using DSConvService.Core.Imaging;
using DSConvService.Core.Quantization;
using DSConvService.Core.Policy;
using DSConvService.Core.Runs;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Policy;

/// <summary>The precision policy on the real MNIST models: it meets targets it can meet and never looks at the evaluation or fidelity images.</summary>
public sealed class PrecisionPolicyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly PreprocessingOptions Mnist = new()
    {
        Width = 28, Height = 28, ColorMode = ColorMode.Gray, Scale = 1f / 255f, Mean = [0.1307f], Std = [0.3081f],
    };

    private RunOutcome Run(string model, QuantizationTarget target, IReadOnlyList<Tensor>? fidelity = null) =>
        QuantizationRun.Execute(new RunRequest
        {
            Fp32ModelPath = TestData.SharedFile(model),
            ArtifactPath = _dir.File($"{Guid.NewGuid():N}.onnx"),
            Options = new QuantizationOptions { Target = target },
            Preprocessing = Mnist,
            Fidelity = fidelity,
            Settings = new RunSettings { Threads = 2, LatencyRuns = 0, SyntheticSamples = 8 },
        });

    [SkippableFact]
    public void Meets_a_loose_cosine_target_with_the_smallest_choice_it_measured()
    {
        var outcome = Run("models/resnet_mini.onnx", new QuantizationTarget { Cosine = 0.99 });
        var policy = outcome.Report.Policy!;
        Assert.True(policy.Met, string.Join(" ", outcome.Report.Notes));
        Assert.Equal(SelectionInputs.Synthetic, policy.SelectionInputs);
        Assert.True(policy.MeasuredCosine >= 0.99, $"measured {policy.MeasuredCosine}");
        Assert.Equal(outcome.Report.Model.QuantizedLayers, policy.Layers.Count);
        Assert.All(policy.Layers, l => Assert.Contains((l.WeightBits, l.BlockSize), PrecisionPolicy.Formats));
        Assert.Contains(policy.Layers, l => l.Sensitivity > 0);
        // The artifact holds exactly the formats the policy reports.
        foreach (var l in policy.Layers)
        {
            var row = outcome.Report.Layers.Single(r => r.Name == l.Name);
            Assert.Equal((l.WeightBits, l.BlockSize), (row.WeightBits, row.BlockSize));
        }
        Assert.Equal(outcome.Report.Model.CompressionRatio, policy.CompressionRatio, 6);
    }

    [SkippableFact]
    public void A_size_target_alone_is_kept_and_buys_the_best_cosine_within_it()
    {
        var cheapest = Run("models/lenet_bn.onnx", new QuantizationTarget { MinCompression = 50 });
        var roomy = Run("models/lenet_bn.onnx", new QuantizationTarget { MinCompression = 4 });
        // 50x is out of reach (4 bits everywhere gives about 7x): said so, cheapest formats everywhere.
        Assert.False(cheapest.Report.Policy!.Met);
        Assert.Contains(cheapest.Report.Notes, n => n.Contains("50x cannot be met"));
        Assert.All(cheapest.Report.Policy.Layers, l => Assert.Equal((4, 32), (l.WeightBits, l.BlockSize)));
        // 4x leaves room for wide (INT8-stored) layers: kept, and the cosine is no worse than at the cheapest formats.
        Assert.True(roomy.Report.Policy!.Met);
        Assert.True(roomy.Report.Model.CompressionRatio >= 4, $"{roomy.Report.Model.CompressionRatio}x");
        Assert.Contains(roomy.Report.Policy.Layers, l => l.WeightBits == PrecisionPolicy.Formats[^1].WeightBits);
        Assert.True(roomy.Report.Policy.MeasuredCosine >= cheapest.Report.Policy.MeasuredCosine);
    }

    [SkippableFact]
    public void The_choice_does_not_depend_on_the_fidelity_images()
    {
        var target = new QuantizationTarget { Cosine = 0.995, MinCompression = 5 };
        var a = Run("models/lenet_bn.onnx", target, SyntheticInputs.Create(Mnist, 6));
        var b = Run("models/lenet_bn.onnx", target, SyntheticInputs.SmoothNoise(Mnist, 6, seed: 99));
        // Different fidelity images were measured ...
        Assert.NotEqual(a.Report.Fidelity!.Cosine, b.Report.Fidelity!.Cosine);
        // ... yet the policy saw the same selection inputs and chose, predicted and measured the same.
        var (pa, pb) = (a.Report.Policy!, b.Report.Policy!);
        Assert.Equal(pa.PredictedCosine, pb.PredictedCosine);
        Assert.Equal(pa.MeasuredCosine, pb.MeasuredCosine);
        Assert.Equal(pa.Layers, pb.Layers);
        Assert.Equal(File.ReadAllBytes(a.ArtifactPath), File.ReadAllBytes(b.ArtifactPath));
    }

    [Fact]
    public void The_selection_is_the_calibration_when_there_is_one_else_smooth_noise_from_the_preprocessing()
    {
        var calibration = SyntheticInputs.Create(Mnist, 3);
        Assert.Same(calibration, SelectionInputs.For(calibration, Mnist).Inputs);
        var synthetic = SelectionInputs.For(null, Mnist);
        Assert.Equal(SelectionInputs.Synthetic, synthetic.Kind);
        Assert.Equal(SelectionInputs.SyntheticCount, synthetic.Inputs.Count);
        // Pixels of [0, 255] normalised like the images: (p/255 − mean) / std, spanning the whole range.
        var values = synthetic.Inputs[0].Floats;
        Assert.Equal((0 - 0.1307f) / 0.3081f, values.Min(), 3);
        Assert.Equal((1 - 0.1307f) / 0.3081f, values.Max(), 3);
        Assert.Equal([1, 1, 28, 28], synthetic.Inputs[0].Shape);
    }

    [Fact]
    public void Greedy_raises_the_layer_with_the_most_error_per_byte_until_the_cosine_is_predicted_met()
    {
        // Two layers of the same size: the first much more sensitive.
        LayerCosts Layer(double sensitivity) => new()
        {
            Layer = null!, Bytes = [100, 110, 200], ErrorEnergy = [0.01, 0.008, 0.0001], Sensitivity = sensitivity,
        };
        var costs = new[] { Layer(0.02), Layer(0.001) };
        Assert.Equal([2, 0], PrecisionPolicy.Greedy(costs, 0, double.PositiveInfinity, 0.99, 1));
        // Within 310 bytes only the sensitive layer can go to 8 bits and the other to block 16; a cosine out of reach stops at the budget.
        Assert.Equal([2, 1], PrecisionPolicy.Greedy(costs, 0, 310, 0.99999, 1));
        Assert.Equal([2, 0], PrecisionPolicy.Greedy(costs, 0, 305, 0.99999, 1));
        // No cosine target: every upgrade that fits.
        Assert.Equal([2, 2], PrecisionPolicy.Greedy(costs, 0, 400, null, 1));
    }

    [Fact]
    public void Bad_targets_are_refused_by_name()
    {
        Assert.Contains("target.cosine", Assert.Single(new QuantizationTarget { Cosine = 1.5 }.Errors()));
        Assert.Contains("target.minCompression", Assert.Single(new QuantizationTarget { MinCompression = 0.5 }.Errors()));
        Assert.Single(new QuantizationTarget().Errors());
        var withLayers = new QuantizationOptions
        {
            Target = new QuantizationTarget { Cosine = 0.9 },
            Layers = new Dictionary<string, Format.DSConvSettings> { ["conv"] = Format.DSConvSettings.Default },
        };
        Assert.Throws<Errors.InvalidOptionsException>(withLayers.Validate);
    }
}
