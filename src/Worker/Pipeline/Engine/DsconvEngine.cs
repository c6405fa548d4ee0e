using DSConvService.Core.Execution;
using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Graph;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx.Structure;
using DSConvService.Core.Passes;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Reports;
using DSConvService.Core.Runs;
using DSConvService.Core.Tensors;

namespace DSConvService.Worker.Pipeline.Engine;

/// <summary>
/// The engine seam implemented on the Core facade: the model check here, ImagePreprocessor for images,
/// QuantizationRun for a whole run (quantize, artifact, evaluation, report) and ServedModel for /infer.
/// </summary>
public sealed class DsconvEngine : IQuantizationEngine
{
    /// <summary>Layers the quantizer replaces by DSConv nodes, so the executor need not run them in float.</summary>
    private static readonly string[] QuantizedOps = ["Conv", "Gemm", "MatMul"];

    public string Name => ServedModel.EngineName;

    private static bool IsSupported(Node n) =>
        OperatorRegistry.IsSupported(n) || (n.Domain is "" or "ai.onnx" && QuantizedOps.Contains(n.OpType));

    // The check needs the graph and shapes only: large weights stay in the file (or array), unread.
    public ModelInfo Inspect(byte[] model) => Inspect(OnnxStructureReader.Load(model));

    public ModelInfo InspectFile(string path) => Inspect(OnnxStructureReader.Load(path));

    private static ModelInfo Inspect(Model m)
    {
        var inputs = m.Graph.RuntimeInputs.ToList();
        if (inputs.Count != 1)
        {
            throw new InvalidModelException($"The model has {inputs.Count} inputs; image models with one [N,C,H,W] input are supported.");
        }
        var shape = inputs[0].Shape ?? [];
        if (shape.Length != 4)
        {
            throw new InvalidModelException($"The model input '{inputs[0].Name}' has shape [{string.Join(",", shape)}]; an image input [N,C,H,W] is needed.");
        }
        var optimized = GraphOptimizer.Optimize(m, fuseActivations: false);
        var unsupported = optimized.Graph.Nodes.Where(n => !IsSupported(n)).ToList();
        if (unsupported.Count > 0)
        {
            var names = unsupported.Select(n => string.IsNullOrEmpty(n.Domain) ? n.OpType : $"{n.Domain}.{n.OpType}").Distinct();
            throw new UnsupportedOperatorException(string.Join(", ", names), unsupported[0].DisplayName,
                "this service supports " + string.Join(", ", OperatorRegistry.SupportedOps().Concat(QuantizedOps).Distinct().Order(StringComparer.Ordinal)));
        }
        var memory = ActivationMemory.Estimate(optimized); // also checks every node's shapes
        var parameters = m.Graph.Initializers.Values.Where(t => t.Type.IsFloat()).Sum(t => (long)t.Length);
        return new ModelInfo(inputs[0].Name, shape, ArtifactMetadata.PreprocessingOf(m), parameters, ModelTask.Detect(m), memory)
        {
            QuantizableLayers = DSConvQuantizer.QuantizableLayers(optimized, optimize: false),
        };
    }

    public Tensor Preprocess(byte[] image, PreprocessingOptions preprocessing, long maxPixels) =>
        new ImagePreprocessor(preprocessing, maxPixels).Process(image);

    public Task<RunOutcome> RunAsync(RunRequest request, CancellationToken ct) => Task.Run(() => QuantizationRun.Execute(request, ct), ct);

    public IInferenceModel LoadForInference(string artifactPath, int threads) => new Served(ServedModel.Load(artifactPath, threads));

    private sealed class Served(ServedModel model) : IInferenceModel
    {
        public PreprocessingOptions Preprocessing => model.Preprocessing;
        public IReadOnlyList<string>? Labels => model.Labels;
        public string Engine => model.Engine;
        public float[] Run(Tensor input) => model.Run(input);
    }
}
