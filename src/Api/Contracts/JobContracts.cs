using System.Text.Json;
using DSConvService.Core.Reports;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline;

namespace DSConvService.Api.Contracts;

/// <summary>The answer of POST /quantize: the new job's id and status ("queued").</summary>
public sealed record JobAccepted(string Id, string Status);

/// <summary>A job as GET /jobs/{id} shows it (DESIGN 5).</summary>
public sealed record JobResponse
{
    public required string Id { get; init; }

    /// <summary>queued | running | succeeded | failed | cancelled</summary>
    public required string Status { get; init; }

    /// <summary>Fraction done, 0..1.</summary>
    public double Progress { get; init; }

    /// <summary>What the job is doing now (e.g. "quantizing", "evaluating").</summary>
    public string? Stage { get; init; }

    /// <summary>Why the job failed, in words a person can act on.</summary>
    public string? Error { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The effective options, defaults filled in.</summary>
    public QuantizeOptions? Options { get; init; }

    /// <summary>The report, once the job succeeded.</summary>
    public QuantizationReport? Report { get; init; }

    /// <summary>The uploaded model's file name.</summary>
    public string? ModelFileName { get; init; }

    /// <summary>Times the job was started (more than 1 after a worker died).</summary>
    public int Attempts { get; init; }

    /// <summary>SHA-256 of the artifact (also its ETag), once succeeded.</summary>
    public string? ArtifactSha256 { get; init; }

    /// <summary>Why earlier attempts did not finish, oldest first ("attempt 1: ..."); empty when the first attempt is the only one.</summary>
    public IReadOnlyList<string> AttemptErrors { get; init; } = [];

    public static JobResponse From(Job job, bool includeReport = true) => new()
    {
        Id = job.Id,
        Status = job.Status.ToApiName(),
        Progress = job.Progress,
        Stage = job.Stage,
        Error = job.Error,
        CreatedAt = job.CreatedAt,
        StartedAt = job.StartedAt,
        FinishedAt = job.FinishedAt,
        Options = JsonSerializer.Deserialize<QuantizeOptions>(job.OptionsJson, OptionsResolver.Json),
        Report = includeReport && job.ReportJson is not null
            ? JsonSerializer.Deserialize<QuantizationReport>(job.ReportJson, QuantizationPipeline.ReportJson)
            : null,
        ModelFileName = job.Inputs.ModelFileName,
        Attempts = job.Attempts,
        ArtifactSha256 = job.ArtifactSha256,
        AttemptErrors = job.AttemptErrors,
    };
}

/// <summary>One page of GET /jobs, newest first (reports left out; GET /jobs/{id} has them).</summary>
public sealed record JobListResponse(IReadOnlyList<JobResponse> Items, int Page, int PageSize, long Total);
