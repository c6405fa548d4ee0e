using DSConvService.Core.Format;

namespace DSConvService.Core.Planning;

// The answer of POST /plan and `dsconv plan` (issue 8, item 6): what a quantization job would do, before
// running one. Serialised camelCase to exactly {"layers": [...], "totals": {...}, "unsupportedOperators": [...]}.

public sealed record ModelPlan
{
    public required IReadOnlyList<PlanLayer> Layers { get; init; }
    public required PlanTotals Totals { get; init; }

    /// <summary>Operators of the model this service's executor has no operator for (the job would then run on ONNX Runtime).</summary>
    public required IReadOnlyList<string> UnsupportedOperators { get; init; }
}

public sealed record PlanLayer
{
    public required string Name { get; init; }
    public required string Op { get; init; }

    /// <summary>Shapes for one sample (a free batch dimension counted as 1); null when they could not be computed.</summary>
    public int[]? InputShape { get; init; }
    public int[]? OutputShape { get; init; }

    /// <summary>Multiply-accumulates per sample.</summary>
    public long Macs { get; init; }

    /// <summary>Weights of the layer (bias not counted).</summary>
    public long Parameters { get; init; }

    /// <summary>The DSConv number format of the layer; null for a layer that stays float.</summary>
    public DSConvSettings? Settings { get; init; }

    /// <summary>How the integers are stored ("INT4" or "INT8"); null for a float layer.</summary>
    public string? Storage { get; init; }

    public required KernelPath KernelPath { get; init; }

    /// <summary>Bytes of the layer's stored weight in the artifact (VQK + KDS + extras + bias).</summary>
    public long EstimatedBytes { get; init; }

    /// <summary>With a target: the policy's sensitivity of the layer (1 − cosine with only this layer at the cheapest format).</summary>
    public double? Sensitivity { get; init; }
}

/// <summary>Which kernel a layer runs on: "integer" or "float", and why.</summary>
public sealed record KernelPath(string Path, string Reason)
{
    public const string Integer = "integer", Float = "float";
}

public sealed record PlanTotals
{
    /// <summary>Bytes of the artifact these settings give.</summary>
    public long EstimatedBytes { get; init; }

    /// <summary>fp32 file bytes / <see cref="EstimatedBytes"/>.</summary>
    public double CompressionRatio { get; init; }

    /// <summary>Stored bits per quantized weight (VQK + KDS + extras).</summary>
    public double BitsPerWeight { get; init; }
}
