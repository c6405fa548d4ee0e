namespace DSConvService.Worker.Jobs;

/// <summary>What a client sends to create a job; streams are read once.</summary>
public sealed record JobSubmission
{
    public required Stream Model { get; init; }
    public string ModelFileName { get; init; } = "model.onnx";
    public Stream? Calibration { get; init; }
    public Stream? Evaluation { get; init; }
    public Stream? Labels { get; init; }
    public string? OptionsJson { get; init; }

    /// <summary>The API key name of the caller (null when keys are off).</summary>
    public string? Owner { get; init; }
}
