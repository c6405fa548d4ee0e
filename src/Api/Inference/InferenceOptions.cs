namespace DSConvService.Api.Inference;

/// <summary>Serving settings (section "Inference").</summary>
public sealed class InferenceOptions
{
    public const string Section = "Inference";

    /// <summary>Quantized models kept loaded (least recently used ones are dropped).</summary>
    public int CacheSize { get; set; } = 4;

    /// <summary>Threads per inference (0 = all cores).</summary>
    public int Threads { get; set; }

    /// <summary>Most predictions a request may ask for (topk).</summary>
    public int MaxTopK { get; set; } = 100;
}
