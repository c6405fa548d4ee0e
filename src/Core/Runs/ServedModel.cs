using DSConvService.Core.Evaluation;
using DSConvService.Core.Imaging;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Runs;

/// <summary>
/// A quantized artifact loaded for serving: its DSConv nodes rebuilt, the runner that executes it
/// (this engine's integer kernels, or ONNX Runtime on the simulated form when an operator is missing),
/// its preprocessing and labels. <see cref="Run"/> may be called from many threads at once.
/// </summary>
public sealed class ServedModel : IDisposable
{
    public const string EngineName = "dsconv";
    public const string FallbackName = "onnxruntime (dsconv simulated)";

    private readonly NetworkRunner _runner;

    private ServedModel(NetworkRunner runner, PreprocessingOptions preprocessing, IReadOnlyList<string>? labels)
    {
        _runner = runner;
        Preprocessing = preprocessing;
        Labels = labels;
    }

    public static ServedModel Load(byte[] artifact, int threads = 0)
    {
        var (model, metadata) = DSConvArtifact.Load(artifact);
        var runner = NetworkRunner.Create(model, threads: threads);
        return new ServedModel(runner, metadata?.Preprocessing ?? PreprocessingDefaults.FromModel(model), metadata?.Labels);
    }

    /// <summary>
    /// Loads the artifact from its file structurally: no copy of its bytes, and each DSConv layer's codes are read only to
    /// pack them (the session keeps its packed forms). Whatever else the session may read later is read here, so the
    /// served model never needs the file again (a spooled copy may be deleted, the job too).
    /// </summary>
    public static ServedModel Load(string artifactPath, int threads = 0)
    {
        var (model, metadata) = DSConvArtifact.Load(artifactPath);
        var runner = NetworkRunner.Create(model, threads: threads);
        foreach (var graph in new[] { model.Graph, runner.Engine?.Model.Graph }.OfType<Graph.Graph>())
        {
            var codes = graph.Nodes.Where(DSConvNodes.IsDSConv).Select(n => n.Inputs[DSConvNodes.InputQ]).ToHashSet(StringComparer.Ordinal);
            foreach (var (name, t) in graph.Initializers)
            {
                if (!codes.Contains(name) && !t.IsLoaded)
                {
                    _ = t.Data;
                }
            }
        }
        return new ServedModel(runner, metadata?.Preprocessing ?? PreprocessingDefaults.FromModel(model), metadata?.Labels);
    }

    public PreprocessingOptions Preprocessing { get; }
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>What runs the model: <see cref="EngineName"/> or <see cref="FallbackName"/>.</summary>
    public string Engine => _runner.UsesEngine ? EngineName : FallbackName;

    /// <summary>Scores of the first output for one preprocessed input.</summary>
    public float[] Run(Tensor input) => _runner.RunOutput(input).Floats;

    public void Dispose() => _runner.Dispose();
}
