using DSConvService.Core.Imaging;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Runs;

/// <summary>
/// Everything one quantization run needs: the fp32 model file, the DSConv options, how images were
/// preprocessed (stored in the artifact), labels, and the already decoded input sets. Fidelity is
/// measured on <see cref="Evaluation"/>, else <see cref="Fidelity"/>, else <see cref="Calibration"/>,
/// else on seeded synthetic inputs.
/// </summary>
public sealed record RunRequest
{
    /// <summary>
    /// Path of the fp32 ONNX file as uploaded. It is read structurally (large weights stay in the file and are read
    /// layer by layer) and must stay in place for the whole run; ONNX Runtime runs a copy of it as the reference.
    /// </summary>
    public required string Fp32ModelPath { get; init; }

    /// <summary>
    /// Where the run writes the artifact (replaced atomically). The evaluation reads the served model back from this
    /// file, so the artifact is never held in memory whole; the caller owns the file afterwards.
    /// </summary>
    public required string ArtifactPath { get; init; }

    /// <summary>
    /// Where the run's scratch files go, as a path prefix (files "{prefix}-…": the ONNX Runtime copy of the model,
    /// about its size; with adaptation, the data-free artifact); deleted when the run ends. Null: the system temp folder.
    /// </summary>
    public string? ScratchPrefix { get; init; }
    public QuantizationOptions Options { get; init; } = new();
    public required PreprocessingOptions Preprocessing { get; init; }

    /// <summary>Class names in output order, stored in the artifact.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Unlabelled inputs for adaptation (used when <see cref="QuantizationOptions.Adapt"/>).</summary>
    public IReadOnlyList<Tensor>? Calibration { get; init; }

    /// <summary>Labelled inputs: accuracy and fidelity are measured on them.</summary>
    public LabelledInputs? Evaluation { get; init; }

    /// <summary>Unlabelled inputs to measure fidelity on when there is no evaluation set.</summary>
    public IReadOnlyList<Tensor>? Fidelity { get; init; }

    public RunSettings Settings { get; init; } = new();

    /// <summary>Stage name and the run's progress in [0, 1].</summary>
    public IProgress<RunProgress>? Progress { get; init; }
}

/// <summary>Inputs with the class index of each.</summary>
public sealed record LabelledInputs(IReadOnlyList<Tensor> Inputs, IReadOnlyList<int> Labels);

/// <summary>How a run measures: threads of both engines, timed runs for latency (0 = none), synthetic inputs.</summary>
public sealed record RunSettings
{
    /// <summary>Threads of ONNX Runtime and of this engine; 0 = all cores.</summary>
    public int Threads { get; init; }

    /// <summary>Timed runs per engine (median reported); 0 leaves latency out.</summary>
    public int LatencyRuns { get; init; } = 10;

    /// <summary>Synthetic fidelity inputs made when no images are given.</summary>
    public int SyntheticSamples { get; init; } = 16;
}

/// <summary>What a run is doing: a stage ("quantizing", "evaluating", ...) and the run's progress in [0, 1].</summary>
public readonly record struct RunProgress(string Stage, double Fraction);
