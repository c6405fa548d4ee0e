namespace DSConvService.Core.Quantization;

/// <summary>
/// What the user asks for instead of settings (issue 8, item 4): a mean feature cosine against the
/// fp32 model and / or a smallest compression ratio (fp32 file bytes / artifact bytes). Either or both.
/// </summary>
public sealed record QuantizationTarget
{
    /// <summary>Mean cosine of the quantized outputs against the fp32 outputs, in (0, 1].</summary>
    public double? Cosine { get; init; }

    /// <summary>The artifact must be at least this many times smaller than the fp32 file (≥ 1).</summary>
    public double? MinCompression { get; init; }

    /// <summary>Every bad value, one message each, named by <paramref name="name"/> (JSON field by default).</summary>
    public IReadOnlyList<string> Errors(Func<string, string>? name = null)
    {
        name ??= n => "target." + n;
        var errors = new List<string>();
        if (Cosine is null && MinCompression is null)
        {
            errors.Add($"{name("cosine")} or {name("minCompression")} is needed when a target is given.");
        }
        if (Cosine is { } c && (!double.IsFinite(c) || c <= 0 || c > 1))
        {
            errors.Add($"{name("cosine")} must be in (0, 1] (got {c}).");
        }
        if (MinCompression is { } m && (!double.IsFinite(m) || m < 1))
        {
            errors.Add($"{name("minCompression")} must be at least 1 (got {m}).");
        }
        return errors;
    }
}
