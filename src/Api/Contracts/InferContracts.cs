namespace DSConvService.Api.Contracts;

/// <summary>The answer of POST /infer.</summary>
/// <param name="Model">The job id whose quantized model answered.</param>
/// <param name="Engine">The engine that ran it.</param>
/// <param name="LatencyMs">Time of the model run (preprocessing excluded), milliseconds.</param>
/// <param name="Predictions">The top-k classes, best first (empty for a feature model).</param>
/// <param name="Task">"classify", or "features" when the model outputs a feature vector (the job's option <c>task</c>).</param>
/// <param name="Features">A feature model's output vector; null for classifiers.</param>
/// <param name="Norm">Euclidean norm of <paramref name="Features"/>; null for classifiers.</param>
public sealed record InferResponse(string Model, string Engine, double LatencyMs, IReadOnlyList<Prediction> Predictions,
    string Task = "classify", IReadOnlyList<float>? Features = null, double? Norm = null);

/// <param name="Index">Output index (class number).</param>
/// <param name="Label">Class name from the job's labels, or null.</param>
/// <param name="Score">Softmax probability of the output scores.</param>
public sealed record Prediction(int Index, string? Label, double Score);
