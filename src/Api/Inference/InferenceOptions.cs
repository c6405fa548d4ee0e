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

    /// <summary>Inferences that run at the same time (default: the number of cores).</summary>
    public int MaxConcurrency { get; set; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>Requests that may wait for a slot; more get 503 with Retry-After.</summary>
    public int MaxQueue { get; set; } = 32;

    /// <summary>The Retry-After of a 503, seconds.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}
