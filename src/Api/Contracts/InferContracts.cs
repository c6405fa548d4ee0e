namespace DSConvService.Api.Contracts;

/// <summary>The answer of POST /infer.</summary>
/// <param name="Model">The job id whose quantized model answered.</param>
/// <param name="Engine">The engine that ran it.</param>
/// <param name="LatencyMs">Time of the model run (preprocessing excluded), milliseconds.</param>
/// <param name="Predictions">The top-k classes, best first.</param>
public sealed record InferResponse(string Model, string Engine, double LatencyMs, IReadOnlyList<Prediction> Predictions);

/// <param name="Index">Output index (class number).</param>
/// <param name="Label">Class name from the job's labels, or null.</param>
/// <param name="Score">Softmax probability of the output scores.</param>
public sealed record Prediction(int Index, string? Label, double Score);
