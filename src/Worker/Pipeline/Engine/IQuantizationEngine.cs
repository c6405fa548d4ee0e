using DSConvService.Core.Reports;
using DSConvService.Core.Imaging;
using DSConvService.Core.Runs;
using DSConvService.Core.Tensors;

namespace DSConvService.Worker.Pipeline.Engine;

/// <summary>
/// The one seam between the service and the Core engine: everything the pipeline and /infer need
/// from Core goes through here. Failures caused by the user's input are Core's
/// <see cref="Core.Errors.InputException"/>s (model, options, images, datasets).
/// </summary>
public interface IQuantizationEngine
{
    /// <summary>Name of the engine that serves /infer (the "engine" field of its answer).</summary>
    string Name { get; }

    /// <summary>Parses and checks an fp32 model: it must be ONNX, self-contained and use only supported operators.</summary>
    ModelInfo Inspect(byte[] model);

    /// <summary>The same check of a model file, parsed from the file as it is read (no copy of the whole file first).</summary>
    ModelInfo InspectFile(string path);

    /// <summary>Decodes a PNG/JPEG (refusing more than <paramref name="maxPixels"/>) into a [1,C,H,W] input.</summary>
    Tensor Preprocess(byte[] image, PreprocessingOptions preprocessing, long maxPixels);

    /// <summary>One quantization run through Core's front door (<see cref="QuantizationRun"/>): artifact and report.</summary>
    Task<RunOutcome> RunAsync(RunRequest request, CancellationToken ct);

    /// <summary>Loads a stored artifact from its file for inference (streamed, not as one array); the result is safe for concurrent use and does not read the file again.</summary>
    IInferenceModel LoadForInference(string artifactPath, int threads);
}

/// <summary>What the service needs to know about an uploaded fp32 model (Memory: what one run of it needs for its values).</summary>
/// <param name="Task">"classify" or "features", detected from the output shape (<see cref="ModelTask.Detect"/>).</param>
public sealed record ModelInfo(string InputName, int[] InputShape, PreprocessingOptions DefaultPreprocessing, long Parameters,
    string Task = ModelTask.Classify, Core.Execution.ActivationMemory? Memory = null)
{
    /// <summary>Names of the layers the quantizer would quantize (what options.layers may name); null when not known.</summary>
    public IReadOnlyList<string>? QuantizableLayers { get; init; }
}

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
