using DSConvService.Core.Errors;

namespace DSConvService.Core.Quantization;

public enum KdsMethod
{
    L2,
    Kl,
}

/// <summary>DSConv settings (DESIGN 2). Field names match the service's JSON options.</summary>
public sealed record QuantizationOptions
{
    /// <summary>Bits of the VQK integers, 2..8.</summary>
    public int WeightBits { get; init; } = 4;

    /// <summary>Channels per block (B), >= 1.</summary>
    public int BlockSize { get; init; } = 32;

    /// <summary>BFP mantissa bits, 2..8; 0 means float activations (weight-only mode).</summary>
    public int ActivationBits { get; init; } = 8;

    /// <summary>BFP exponent width in bits.</summary>
    public int ExponentBits { get; init; } = 8;

    public KdsMethod Kds { get; init; } = KdsMethod.L2;

    /// <summary>Fit a bias per KDS block (ŵ = ξ·q + β).</summary>
    public bool KdsBias { get; init; }

    /// <summary>Fit a channel distribution shifter (scale and bias per output channel).</summary>
    public bool Cds { get; init; }

    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>Quantize Gemm / MatMul layers with constant weights too.</summary>
    public bool QuantizeFullyConnected { get; init; } = true;

    /// <summary>Re-fit KDS on unlabelled calibration inputs and correct biases (DESIGN 2.4).</summary>
    public bool Adapt { get; init; }

    /// <summary>Store KDS as float16 in the artifact (the in-memory model uses the same rounded values).</summary>
    public bool KdsFloat16 { get; init; } = true;

    public void Validate()
    {
        if (WeightBits is < 2 or > 8)
        {
            throw new InvalidOptionsException($"weightBits must be between 2 and 8 (got {WeightBits}).");
        }
        if (BlockSize is < 1 or > 256)
        {
            throw new InvalidOptionsException($"blockSize must be between 1 and 256 (got {BlockSize}).");
        }
        if (ActivationBits != 0 && ActivationBits is < 2 or > 8)
        {
            throw new InvalidOptionsException($"activationBits must be 0 (float activations) or between 2 and 8 (got {ActivationBits}).");
        }
        if (ExponentBits is < 2 or > 8)
        {
            throw new InvalidOptionsException($"exponentBits must be between 2 and 8 (got {ExponentBits}).");
        }
    }
}
