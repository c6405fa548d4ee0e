using DSConvService.Core.Reports;

namespace DSConvService.ReportHtml;

/// <summary>What the HTML report shows: the job's report plus the context a reader needs around it.</summary>
public sealed record ReportDocument
{
    public required QuantizationReport Report { get; init; }

    /// <summary>The model's name (its file name), the page's heading.</summary>
    public required string Title { get; init; }

    /// <summary>The job id, when the report comes from the service.</summary>
    public string? JobId { get; init; }

    /// <summary>The settings the model was quantized with, in display order (name, value).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; init; } = [];

    /// <summary>Where the quantized model can be downloaded (left out of a file written by the CLI).</summary>
    public string? ArtifactUrl { get; init; }

    /// <summary>Where the JSON report can be downloaded.</summary>
    public string? ReportJsonUrl { get; init; }

    public DateTimeOffset GeneratedAt { get; init; } = DateTimeOffset.UtcNow;
}
