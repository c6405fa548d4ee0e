namespace DSConvService.Worker.Jobs;

/// <summary>
/// The "options" JSON of POST /quantize (DESIGN 5). Missing fields take defaults (preprocessing
/// inferred from the model's input shape); the job stores and shows the filled-in form.
/// </summary>
public sealed record QuantizeOptions
{
    /// <summary>Bits per weight (VQK), 2..8.</summary>
    public int? WeightBits { get; init; }

    /// <summary>Channels per block, 1..256.</summary>
    public int? BlockSize { get; init; }

    /// <summary>BFP mantissa bits 2..8, or 0 for float activations.</summary>
    public int? ActivationBits { get; init; }

    /// <summary>"l2" (least squares) or "kl".</summary>
    public string? Kds { get; init; }

    /// <summary>VQK scale rule: "max" (largest magnitude, the paper's) or "mse" (clip searched per block); default mse, max with adapt.</summary>
    public string? Scale { get; init; }

    /// <summary>Data-free bias correction from the model's BatchNorm statistics.</summary>
    public bool? BiasCorrection { get; init; }

    /// <summary>
    /// Per-layer settings by layer name (the names of the report's layers table), each merged over the
    /// global fields; the resolved options hold every field of every named layer.
    /// </summary>
    public Dictionary<string, LayerOptions>? Layers { get; init; }

    /// <summary>Re-fit on the calibration images (needs a calibration zip).</summary>
    public bool? Adapt { get; init; }

    public PreprocessingSettings? Preprocessing { get; init; }

    /// <summary>An accuracy / size target instead of bits and block: the policy chooses them per layer.</summary>
    public TargetSettings? Target { get; init; }

    /// <summary>"classify" or "features" (the model outputs a feature vector); detected from the output shape when missing.</summary>
    public string? Task { get; init; }
}

/// <summary>The settings of one layer in <see cref="QuantizeOptions.Layers"/>; missing fields take the global ones.</summary>
public sealed record LayerOptions
{
    public int? WeightBits { get; init; }
    public int? BlockSize { get; init; }
    public int? ActivationBits { get; init; }
}

/// <summary>How images become model inputs: x = (pixel · scale − mean[c]) / std[c].</summary>
public sealed record PreprocessingSettings
{
    public int? Width { get; init; }
    public int? Height { get; init; }

    /// <summary>"center-crop" or "stretch".</summary>
    public string? Resize { get; init; }

    /// <summary>"rgb", "bgr" or "gray".</summary>
    public string? ColorMode { get; init; }
    public float? Scale { get; init; }
    public float[]? Mean { get; init; }
    public float[]? Std { get; init; }
}

/// <summary>The "target" of the options: a mean cosine against fp32 in (0, 1] and / or a smallest compression ratio (≥ 1).</summary>
public sealed record TargetSettings
{
    public double? Cosine { get; init; }
    public double? MinCompression { get; init; }
}
