namespace DSConvService.Worker.Jobs;

/// <summary>One quantization job as stored. Times are UTC.</summary>
public sealed record Job
{
    public required string Id { get; init; }

    /// <summary>The API key name that created the job (null when keys are off).</summary>
    public string? Owner { get; init; }
    public JobStatus Status { get; init; }
    public string? Stage { get; init; }
    public double Progress { get; init; }
    public string? Error { get; init; }

    /// <summary>The effective options (defaults filled in), as JSON.</summary>
    public required string OptionsJson { get; init; }

    /// <summary>The report (QuantizationReport), as JSON, once succeeded.</summary>
    public string? ReportJson { get; init; }
    public JobInputs Inputs { get; init; } = new();
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public int Attempts { get; init; }
    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseExpiresAt { get; init; }
    public bool CancelRequested { get; init; }
    public string? ArtifactSha256 { get; init; }
    public long? ArtifactBytes { get; init; }

    /// <summary>Why earlier attempts ended without success, oldest first ("attempt 1: ...").</summary>
    public IReadOnlyList<string> AttemptErrors { get; init; } = [];

    /// <summary>A job queued again after a fault is not claimed before this time.</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>The attempt log as stored: one line per attempt.</summary>
    internal static IReadOnlyList<string> ParseAttemptLog(string? log) =>
        string.IsNullOrEmpty(log) ? [] : log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Which optional uploads a job has, and the model's digest.</summary>
public sealed record JobInputs
{
    public string ModelFileName { get; init; } = "model.onnx";
    public string? ModelSha256 { get; init; }
    public long ModelBytes { get; init; }
    public bool HasCalibration { get; init; }
    public bool HasEvaluation { get; init; }
    public bool HasLabels { get; init; }
}
