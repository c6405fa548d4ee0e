using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Graph;
using DSConvService.Core.Imaging;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Reports;

namespace DSConvService.Core.Quantization;

/// <summary>A Conv or FC node the quantizer left in float, and why.</summary>
internal sealed record SkippedLayer(Node Node, string Reason);

/// <summary>What <see cref="DSConvQuantizer.Quantize"/> returns: the quantized model (DSConv nodes) and its per-layer report.</summary>
public sealed class QuantizationResult
{
    private readonly List<QuantizedLayer> _layers;

    internal QuantizationResult(Model quantized, Model floatModel, QuantizationOptions options, List<QuantizedLayer> layers,
        List<string> skipped, List<string> notes, long parameters, double seconds)
    {
        Quantized = quantized;
        FloatModel = floatModel;
        Options = options;
        _layers = layers;
        SkippedLayers = skipped;
        Notes = notes;
        Parameters = parameters;
        QuantizeSeconds = seconds;
    }

    /// <summary>The quantized model: DSConvConv / DSConvGemm nodes in domain "ai.dsconv", everything else float.</summary>
    public Model Quantized { get; }

    /// <summary>The fp32 model after the passes the quantizer ran (BatchNorm folded): the reference with matching value names.</summary>
    public Model FloatModel { get; }

    public QuantizationOptions Options { get; }

    public IReadOnlyList<LayerSection> Layers => _layers.Select(l => new LayerSection
    {
        Name = l.Name,
        Op = l.Source.Node.OpType,
        WeightBits = l.Weight.Format.WeightBits,
        BlockSize = l.Weight.Format.BlockSize,
        ActivationBits = l.Weight.Format.MantissaBits,
        StorageBitsPerWeight = l.Weight.Format.Settings.StorageBitsPerWeight,
        WastesStorage = l.Weight.Format.Settings.WastesStorage,
        BiasCorrected = l.BiasCorrected,
        WeightSqnrDb = l.WeightSqnrDb,
        OutputSqnrDb = OutputSqnrDb.TryGetValue(l.Name, out var s) ? s : null,
        Macs = l.Macs,
    }).ToList();

    public int QuantizedLayers => _layers.Count;

    /// <summary>Layers whose bias data-free bias correction changed (0 when it was off).</summary>
    public int BiasCorrectedLayers { get; init; }

    /// <summary>How the weights were quantized: the scale rule and whether bias correction ran (the report's <c>quantization</c> section).</summary>
    public QuantizationMethodSection MethodSection => new()
    {
        Scale = Options.Scale.Name(),
        BiasCorrection = Options.BiasCorrection,
        BiasCorrectedLayers = BiasCorrectedLayers,
    };
    public IReadOnlyList<string> SkippedLayers { get; }
    public long Parameters { get; }
    public IReadOnlyList<string> Notes { get; }
    public double QuantizeSeconds { get; }

    /// <summary>Per-layer output SQNR (dB) filled by the evaluator, by layer name.</summary>
    public Dictionary<string, double> OutputSqnrDb { get; } = new(StringComparer.Ordinal);

    /// <summary>Weights stored in quantized form.</summary>
    public long QuantizedWeightCount => _layers.Sum(l => (long)l.Weight.Q.Length);

    /// <summary>Exact storage of the quantized weights (VQK + KDS + KDS bias + CDS) per weight, in bits.</summary>
    public double BitsPerWeight => QuantizedWeightCount == 0 ? 0 : (double)_layers.Sum(l => l.Weight.StorageBits()) / QuantizedWeightCount;

    internal IReadOnlyList<QuantizedLayer> LayerDetails => _layers;

    /// <summary>The Conv / FC nodes left in float, with the reason (the structured form of <see cref="SkippedLayers"/>).</summary>
    internal IReadOnlyList<SkippedLayer> SkippedNodes { get; init; } = [];

    /// <summary>The portable artifact (DESIGN 4): standard ONNX, opset 21, blocked DequantizeLinear feeding the original Conv/Gemm.</summary>
    public byte[] ToArtifactBytes(PreprocessingOptions? preprocessing = null, string[]? labels = null) =>
        DSConvArtifact.Write(Quantized, preprocessing, labels);

    /// <summary>The length of <see cref="ToArtifactBytes"/>, without holding the bytes.</summary>
    public long ArtifactLength(PreprocessingOptions? preprocessing = null, string[]? labels = null) =>
        DSConvArtifact.Length(Quantized, preprocessing, labels);

    /// <summary><see cref="ToArtifactBytes"/> written to <paramref name="path"/> without holding them; returns the file's size.</summary>
    public long SaveArtifact(string path, PreprocessingOptions? preprocessing = null, string[]? labels = null)
    {
        DSConvArtifact.Save(Quantized, preprocessing, labels, path);
        return new FileInfo(path).Length;
    }

    /// <summary>The model section of the report for an fp32 file of <paramref name="fp32Bytes"/> bytes and an artifact of <paramref name="quantizedBytes"/>.</summary>
    public ModelSection ModelSection(long fp32Bytes, long quantizedBytes) => new()
    {
        Parameters = Parameters,
        Fp32Bytes = fp32Bytes,
        QuantizedBytes = quantizedBytes,
        CompressionRatio = quantizedBytes == 0 ? 0 : (double)fp32Bytes / quantizedBytes,
        BitsPerWeight = BitsPerWeight,
        QuantizedLayers = QuantizedLayers,
        SkippedLayers = SkippedLayers,
    };
}
