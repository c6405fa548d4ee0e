using System.Text.Json.Serialization;
using DSConvService.Core.Numerics;

namespace DSConvService.Core.Reports;

// The report of one quantization job. Property names serialise (camelCase) to exactly the field
// names of DESIGN section 5; the CLI prints the same shape as the service. Metrics that can be
// non-finite (an SQNR of +∞ when nothing was lost) are written as null.

public sealed record QuantizationReport
{
    public required ModelSection Model { get; init; }
    public AccuracySection? Accuracy { get; init; }
    public FidelitySection? Fidelity { get; init; }
    public LatencySection? Latency { get; init; }
    public IReadOnlyList<LayerSection> Layers { get; init; } = [];

    /// <summary>What the precision policy chose for a target (null when the settings were given, not a target).</summary>
    public PolicySection? Policy { get; init; }

    /// <summary>How the weights were quantized (scale rule, bias correction); null in reports written before it existed.</summary>
    public QuantizationMethodSection? Quantization { get; init; }
    public TimingsSection Timings { get; init; } = new();

    /// <summary>Where fidelity inputs came from: "evaluation", "calibration" or "synthetic".</summary>
    public string? FidelityInputs { get; init; }

    /// <summary>"classify" (class scores out) or "features" (a feature vector out: class metrics are left out); see <see cref="ModelTask"/>.</summary>
    public string Task { get; init; } = ModelTask.Classify;

    /// <summary>Notes a user should read (e.g. the depthwise block rule, adaptation fallbacks).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

public sealed record ModelSection
{
    public long Parameters { get; init; }
    public long Fp32Bytes { get; init; }
    public long QuantizedBytes { get; init; }
    public double CompressionRatio { get; init; }

    /// <summary>Storage cost of the quantized weights (VQK + KDS + extras) per weight, in bits.</summary>
    public double BitsPerWeight { get; init; }
    public int QuantizedLayers { get; init; }
    public IReadOnlyList<string> SkippedLayers { get; init; } = [];
}

public sealed record AccuracySection
{
    public int Samples { get; init; }
    public double Fp32Top1 { get; init; }
    public double QuantizedTop1 { get; init; }
    public double Top1Drop { get; init; }
    public double Fp32Top5 { get; init; }
    public double QuantizedTop5 { get; init; }
}

public sealed record FidelitySection
{
    public int Samples { get; init; }

    /// <summary>Null for feature models (no classes to agree on).</summary>
    public double? Top1Agreement { get; init; }

    /// <summary>KL of the softmaxed outputs; null for feature models.</summary>
    [JsonConverter(typeof(OptionalNonFiniteAsNull))]
    public double? MeanKl { get; init; }

    [JsonConverter(typeof(NonFiniteAsNull))]
    public double OutputSqnrDb { get; init; }

    [JsonConverter(typeof(NonFiniteAsNull))]
    public double Cosine { get; init; }

    /// <summary>The worst sample's cosine.</summary>
    [JsonConverter(typeof(NonFiniteAsNull))]
    public double CosineMin { get; init; }
}

/// <summary>The precision policy's choice for a target (issue 8, item 4).</summary>
public sealed record PolicySection
{
    public required PolicyTarget Target { get; init; }

    /// <summary>What sensitivities and the measured cosine were computed on: "calibration" or "synthetic" (never evaluation or fidelity images).</summary>
    public required string SelectionInputs { get; init; }
    public double PredictedCosine { get; init; }

    /// <summary>Mean cosine of the chosen quantization on the selection inputs.</summary>
    public double MeasuredCosine { get; init; }

    /// <summary>fp32 file bytes / artifact bytes of the chosen quantization.</summary>
    public double CompressionRatio { get; init; }

    /// <summary>True when every part of the target was met on the selection inputs.</summary>
    public bool Met { get; init; }
    public IReadOnlyList<PolicyLayer> Layers { get; init; } = [];
}

/// <summary>The target the policy was given: mean cosine and / or smallest compression ratio (null when not asked for).</summary>
public sealed record PolicyTarget(double? Cosine, double? MinCompression);

/// <summary>One layer's sensitivity (1 − cosine of the outputs with only this layer at the cheapest format) and the format chosen.</summary>
public sealed record PolicyLayer
{
    public required string Name { get; init; }
    public double Sensitivity { get; init; }
    public int WeightBits { get; init; }
    public int BlockSize { get; init; }
}

public sealed record LatencySection
{
    public int Threads { get; init; }
    public int Batch { get; init; }
    public double Fp32OrtMs { get; init; }
    public double DsconvMs { get; init; }
    [JsonConverter(typeof(NonFiniteAsNull))]
    public double Speedup { get; init; }
}

public sealed record LayerSection
{
    public required string Name { get; init; }
    public required string Op { get; init; }
    public int WeightBits { get; init; }
    public int BlockSize { get; init; }

    /// <summary>BFP mantissa bits of the layer's input; 0 = float activations.</summary>
    public int ActivationBits { get; init; }

    /// <summary>Bits one weight integer takes in the file: 4 (INT4) or 8 (INT8).</summary>
    public int StorageBitsPerWeight { get; init; }

    /// <summary>True when <see cref="WeightBits"/> is below its storage width (&lt; 4, or 5..7): no size gain over the storage width.</summary>
    public bool WastesStorage { get; init; }

    /// <summary>True when data-free bias correction changed this layer's bias.</summary>
    public bool BiasCorrected { get; init; }
    [JsonConverter(typeof(NonFiniteAsNull))]
    public double WeightSqnrDb { get; init; }

    [JsonConverter(typeof(OptionalNonFiniteAsNull))]
    public double? OutputSqnrDb { get; init; }
    public long Macs { get; init; }
}

/// <summary>The weight-fitting rules a run used (DESIGN 2.1 scale rule, 2.5 bias correction).</summary>
public sealed record QuantizationMethodSection
{
    /// <summary>"max" (largest magnitude, the paper's rule) or "mse" (clip searched per block).</summary>
    public string Scale { get; init; } = "max";

    /// <summary>Whether data-free bias correction from BatchNorm statistics was asked for.</summary>
    public bool BiasCorrection { get; init; }

    /// <summary>Layers it changed (those fed by a BatchNorm, directly or through Relu/Clip).</summary>
    public int BiasCorrectedLayers { get; init; }
}

public sealed record TimingsSection
{
    public double QuantizeSeconds { get; init; }
    public double EvaluateSeconds { get; init; }
}
