using DSConvService.Core.Graph;

namespace DSConvService.Core.Reports;

/// <summary>
/// What a model's output is: class scores ("classify") or a feature vector ("features", e.g. the
/// ImageNet ResNet18 featurizer's [1,512,1,1]). Softmax, top-k and top-1 agreement mean nothing
/// for a feature vector, so a feature model's report carries no class metrics.
/// </summary>
public static class ModelTask
{
    public const string Classify = "classify";
    public const string Features = "features";

    public static bool IsKnown(string? task) => task is Classify or Features;

    /// <summary>
    /// "classify" when the first output is class-shaped ([N, K] or [K]) or its shape is unknown,
    /// else "features" (a map such as [N, C, 1, 1] or [N, C, H, W]).
    /// </summary>
    public static string Detect(Model model)
    {
        var shape = model.Graph.Outputs.FirstOrDefault()?.Shape;
        return shape is null || shape.Length <= 2 ? Classify : Features;
    }

    /// <summary>The report for <paramref name="task"/>: for feature models accuracy and the class parts of fidelity are dropped.</summary>
    public static QuantizationReport Apply(QuantizationReport report, string? task) => task == Features
        ? report with
        {
            Task = Features,
            Accuracy = null,
            Fidelity = report.Fidelity is null ? null : report.Fidelity with { Top1Agreement = null, MeanKl = null },
        }
        : report with { Task = Classify };
}
