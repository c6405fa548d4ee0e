using DSConvService.Core.Datasets;

namespace DSConvService.Worker.Hosting;

/// <summary>Bounds on what a client may send (section "Limits"); inputs beyond them get a clear 4xx.</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>Largest request body of POST /quantize (all files together), bytes.</summary>
    public long MaxUploadBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Largest image body of POST /infer, bytes.</summary>
    public long MaxImageBytes { get; set; } = 20L * 1024 * 1024;

    /// <summary>Most entries a dataset zip may hold.</summary>
    public int MaxZipEntries { get; set; } = 20_000;

    /// <summary>Most bytes a dataset zip may expand to (counted while decompressing, headers are not trusted).</summary>
    public long MaxZipExpandedBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Most pixels (width · height) of an image that will be decoded.</summary>
    public long MaxImagePixels { get; set; } = 40_000_000;

    /// <summary>
    /// Most bytes one run of a model may need for its values (activations and scratch, from the shapes);
    /// a model beyond it is refused at submission, naming its largest tensor.
    /// </summary>
    public long MaxInferenceMemoryBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>The dataset zip bounds, as Core's reader takes them (one image entry at most MaxImageBytes).</summary>
    public DatasetLimits ToDatasetLimits() => new(MaxZipEntries, MaxZipExpandedBytes, MaxImageBytes);

    public IEnumerable<string> Validate()
    {
        if (MaxUploadBytes < 1024) yield return "Limits:MaxUploadBytes must be at least 1024.";
        if (MaxImageBytes < 1024) yield return "Limits:MaxImageBytes must be at least 1024.";
        if (MaxZipEntries < 1) yield return "Limits:MaxZipEntries must be at least 1.";
        if (MaxZipExpandedBytes < 1024) yield return "Limits:MaxZipExpandedBytes must be at least 1024.";
        if (MaxImagePixels < 1) yield return "Limits:MaxImagePixels must be at least 1.";
        if (MaxInferenceMemoryBytes < 1024 * 1024) yield return "Limits:MaxInferenceMemoryBytes must be at least 1048576 (1 MiB).";
    }
}
