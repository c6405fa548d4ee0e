using DSConvService.Core.Errors;
using DSConvService.Core.Format;

namespace DSConvService.Core.Quantization;

public enum KdsMethod
{
    L2,
    Kl,
}

/// <summary>
/// Options of a quantization run (DESIGN 2). The number format of the layers is one
/// <see cref="DSConvSettings"/> (<see cref="Format"/>; the four properties below read and write it);
/// the rest says how weights are fitted. Field names match the service's JSON options.
/// </summary>
public sealed record QuantizationOptions
{
    /// <summary>The number format every quantized layer gets (defaults, ranges and block count live there).</summary>
    public DSConvSettings Format { get; init; } = DSConvSettings.Default;

    /// <summary>Bits of the VQK integers (<see cref="DSConvSettings.WeightBits"/>).</summary>
    public int WeightBits
    {
        get => Format.WeightBits;
        init => Format = Format with { WeightBits = value };
    }

    /// <summary>Channels per block, B (<see cref="DSConvSettings.BlockSize"/>).</summary>
    public int BlockSize
    {
        get => Format.BlockSize;
        init => Format = Format with { BlockSize = value };
    }

    /// <summary>BFP mantissa bits; 0 means float activations (<see cref="DSConvSettings.ActivationBits"/>).</summary>
    public int ActivationBits
    {
        get => Format.ActivationBits;
        init => Format = Format with { ActivationBits = value };
    }

    /// <summary>BFP exponent width in bits (<see cref="DSConvSettings.ExponentBits"/>).</summary>
    public int ExponentBits
    {
        get => Format.ExponentBits;
        init => Format = Format with { ExponentBits = value };
    }

    /// <summary>
    /// Per-layer number formats by node name (the name the quantizer reports for a layer), each a
    /// whole <see cref="DSConvSettings"/> already merged over <see cref="Format"/>. Layers not named
    /// here take <see cref="Format"/>.
    /// </summary>
    public IReadOnlyDictionary<string, DSConvSettings> Layers { get; init; } = new Dictionary<string, DSConvSettings>(StringComparer.Ordinal);

    /// <summary>The number format of the layer named <paramref name="layerName"/>.</summary>
    public DSConvSettings FormatFor(string layerName) =>
        Layers.TryGetValue(layerName, out var s) ? s : Format;

    /// <summary>These options with <see cref="Format"/> set to the layer's own settings.</summary>
    public QuantizationOptions ForLayer(string layerName) =>
        Layers.TryGetValue(layerName, out var s) ? this with { Format = s } : this;

    public KdsMethod Kds { get; init; } = KdsMethod.L2;

    /// <summary>How VQK picks each block's scale (option <c>scale</c>); the default is the rule that measured better.</summary>
    public ScaleRule Scale { get; init; } = DefaultScale;

    public const ScaleRule DefaultScale = ScaleRule.Mse;

    /// <summary>
    /// The measured-better rule for a run: mse data-free, max when adapting on calibration images (re-fitting ξ
    /// recovers more from the unclipped integers; bench/ACCURACY.md, issue 8).
    /// </summary>
    public static ScaleRule DefaultScaleFor(bool adapt) => adapt ? ScaleRule.Max : DefaultScale;

    /// <summary>Data-free bias correction from the fp32 model's BatchNorm statistics (DESIGN 2.5, option <c>biasCorrection</c>).</summary>
    public bool BiasCorrection { get; init; } = DefaultBiasCorrection;

    public const bool DefaultBiasCorrection = true;

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

    /// <summary>
    /// An accuracy / size target: when set, the run's policy chooses weight bits and block size per
    /// layer (Core.Policy.PrecisionPolicy) and fills <see cref="Layers"/> with its choice.
    /// </summary>
    public QuantizationTarget? Target { get; init; }

    /// <summary>Throws <see cref="InvalidOptionsException"/> naming every out-of-range setting.</summary>
    public void Validate()
    {
        var errors = new List<string>(Format.Errors());
        if (Target is not null)
        {
            errors.AddRange(Target.Errors());
            if (Layers.Count > 0)
            {
                errors.Add("target and layers cannot be combined: with a target the policy chooses every layer's weight bits and block size.");
            }
        }
        foreach (var (name, settings) in Layers)
        {
            errors.AddRange(settings.Errors(field => $"layers.{name}.{field}"));
        }
        if (errors.Count > 0)
        {
            throw new InvalidOptionsException(errors);
        }
    }
}
