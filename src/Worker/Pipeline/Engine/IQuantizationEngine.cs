using DSConvService.Core.Imaging;
using DSConvService.Core.Quantization;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;

namespace DSConvService.Worker.Pipeline.Engine;

/// <summary>
/// The one seam between the service and the Core engine: everything the pipeline and /infer need
/// from Core goes through here. Methods throw Core's InvalidModelException / UnsupportedOperatorException
/// for models that cannot be used and ImageDecodeException for images that cannot be decoded.
/// </summary>
public interface IQuantizationEngine
{
    /// <summary>Name of the engine that serves /infer (the "engine" field of its answer).</summary>
    string Name { get; }

    /// <summary>Parses and checks an fp32 model: it must be ONNX, self-contained and use only supported operators.</summary>
    ModelInfo Inspect(byte[] model);

    /// <summary>Decodes a PNG/JPEG (refusing more than <paramref name="maxPixels"/>) into a [1,C,H,W] input.</summary>
    Tensor Preprocess(byte[] image, PreprocessingOptions preprocessing, long maxPixels);

    /// <summary>Folds and quantizes the model with DSConv (and adapts it on the calibration inputs when asked).</summary>
    Task<QuantizedModel> QuantizeAsync(byte[] model, QuantizationOptions options, IReadOnlyList<Tensor>? calibration,
        PreprocessingOptions preprocessing, IReadOnlyList<string>? labels, IProgress<double>? progress, CancellationToken ct);

    /// <summary>
    /// Runs the fp32 model (ONNX Runtime) and the quantized model (our engine) on the same inputs:
    /// fidelity always, accuracy when labels are given, and latency.
    /// </summary>
    Task<EvaluationResult> EvaluateAsync(byte[] fp32Model, QuantizedModel quantized, IReadOnlyList<Tensor> inputs,
        IReadOnlyList<int>? labels, EvaluationSettings settings, IProgress<double>? progress, CancellationToken ct);

    /// <summary>Loads a stored artifact for inference; the result is safe for concurrent use.</summary>
    IInferenceModel LoadForInference(byte[] artifact, int threads);
}

/// <summary>What the service needs to know about an uploaded fp32 model (Memory: what one run of it needs for its values).</summary>
public sealed record ModelInfo(string InputName, int[] InputShape, PreprocessingOptions DefaultPreprocessing, long Parameters,
    Core.Execution.ActivationMemory? Memory = null);

/// <summary>A quantized model: the artifact file and what the quantizer reports about it.</summary>
public sealed record QuantizedModel
{
    public required byte[] ArtifactBytes { get; init; }
    public IReadOnlyList<LayerSection> Layers { get; init; } = [];
    public int QuantizedLayers { get; init; }
    public IReadOnlyList<string> SkippedLayers { get; init; } = [];
    public long Parameters { get; init; }
    public double BitsPerWeight { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The engine's in-memory form of the quantized model (so evaluation need not re-read the artifact).</summary>
    public object? EngineModel { get; init; }
}

public sealed record EvaluationSettings(int Threads, int LatencyRuns);

public sealed record EvaluationResult(AccuracySection? Accuracy, FidelitySection Fidelity, LatencySection? Latency,
    IReadOnlyList<LayerSection>? Layers = null, IReadOnlyList<string>? Notes = null);

/// <summary>A quantized model ready to serve; <see cref="Run"/> may be called from many threads at once.</summary>
public interface IInferenceModel
{
    PreprocessingOptions Preprocessing { get; }
    IReadOnlyList<string>? Labels { get; }

    /// <summary>What runs the model: "dsconv" (our integer engine) or the fallback that ran it instead.</summary>
    string Engine { get; }

    /// <summary>Scores of the first output for one preprocessed input.</summary>
    float[] Run(Tensor input);
}

/// <summary>An image cannot be decoded, or is too large to decode safely.</summary>
public sealed class ImageDecodeException(string message) : Exception(message);
