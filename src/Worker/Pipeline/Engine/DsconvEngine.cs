using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;

namespace DSConvService.Worker.Pipeline.Engine;

/// <summary>
/// The engine seam implemented on the Core facade: DSConvQuantizer for quantization (and adaptation),
/// DSConvArtifact for the file, ImagePreprocessor for images, ONNX Runtime (OrtReference) as the fp32
/// reference and this repository's executor (NetworkRunner / InferenceSession) for the quantized model.
/// </summary>
public sealed class DsconvEngine : IQuantizationEngine
{
    /// <summary>Samples on which per-layer output SQNR is measured (each costs one extra fp32 run with captures).</summary>
    private const int LayerSqnrSamples = 8;

    /// <summary>Layers the quantizer replaces by DSConv nodes, so the executor need not run them in float.</summary>
    private static readonly string[] QuantizedOps = ["Conv", "Gemm", "MatMul"];

    public string Name => EngineName;

    private const string EngineName = "dsconv";
    private const string FallbackName = "onnxruntime (dsconv simulated)";

    private static bool IsSupported(Node n) =>
        OperatorRegistry.IsSupported(n) || (n.Domain is "" or "ai.onnx" && QuantizedOps.Contains(n.OpType));

    public ModelInfo Inspect(byte[] model)
    {
        var m = OnnxReader.Load(model);
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
        var parameters = m.Graph.Initializers.Values.Where(t => t.Data is float[]).Sum(t => (long)t.Length);
        return new ModelInfo(inputs[0].Name, shape, PreprocessingDefaults.FromModel(m), parameters, memory);
    }

    public Tensor Preprocess(byte[] image, PreprocessingOptions preprocessing, long maxPixels)
    {
        try
        {
            return new ImagePreprocessor(preprocessing, maxPixels).Process(image);
        }
        catch (InvalidImageException e)
        {
            throw new ImageDecodeException(e.Message);
        }
    }

    public Task<QuantizedModel> QuantizeAsync(byte[] model, QuantizationOptions options, IReadOnlyList<Tensor>? calibration,
        PreprocessingOptions preprocessing, IReadOnlyList<string>? labels, IProgress<double>? progress, CancellationToken ct) => Task.Run(() =>
    {
        var fp32 = OnnxReader.Load(model);
        var adapting = options.Adapt && calibration is { Count: > 0 };
        var layerProgress = progress is null ? null : new Progress(p =>
        {
            // Quantizing layers is quick; adaptation (when asked) takes most of the time.
            var (from, to) = p.Stage == "adapt" ? (0.3, 1.0) : (0.0, adapting ? 0.3 : 1.0);
            progress.Report(from + (to - from) * p.Fraction);
        });
        var result = DSConvQuantizer.Quantize(fp32, options, adapting ? calibration : null, layerProgress, ct);
        return new QuantizedModel
        {
            ArtifactBytes = result.ToArtifactBytes(preprocessing, labels?.ToArray()),
            Layers = result.Layers,
            QuantizedLayers = result.QuantizedLayers,
            SkippedLayers = result.SkippedLayers,
            Parameters = result.Parameters,
            BitsPerWeight = result.BitsPerWeight,
            Notes = result.Notes,
            EngineModel = result,
        };
    }, ct);

    public Task<EvaluationResult> EvaluateAsync(byte[] fp32Model, QuantizedModel quantized, IReadOnlyList<Tensor> inputs,
        IReadOnlyList<int>? labels, EvaluationSettings settings, IProgress<double>? progress, CancellationToken ct) => Task.Run(() =>
    {
        var threads = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        // The quantized model is evaluated as it will be served: read back from the artifact.
        var (served, _) = DSConvArtifact.Load(quantized.ArtifactBytes);
        var result = quantized.EngineModel as QuantizationResult;
        var layerOutputs = result is null ? [] : LayerOutputs(result.Quantized);
        using var reference = new OrtReference(fp32Model, threads);
        using var engine = NetworkRunner.Create(served, layerOutputs.Values, threads);
        using var floatEngine = result is null ? null : NetworkRunner.Create(result.FloatModel, layerOutputs.Values, threads);

        var metrics = new OutputMetrics();
        var layerSignal = layerOutputs.Keys.ToDictionary(k => k, _ => (Signal: 0.0, Noise: 0.0));
        var total = inputs.Count + LayerSqnrSamples + 2;
        for (var i = 0; i < inputs.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var expected = reference.Run(inputs[i])[0].Floats;
            var run = engine.Run(inputs[i]);
            metrics.Add(expected, engine.Output(run).Floats, labels?[i] ?? -1);
            if (floatEngine is not null && i < LayerSqnrSamples)
            {
                var floatRun = floatEngine.Run(inputs[i]);
                foreach (var (layer, value) in layerOutputs)
                {
                    if (run.TryGetValue(value, out var q) && floatRun.TryGetValue(value, out var f))
                    {
                        var (s, n) = SignalNoise(f.Floats, q.Floats);
                        var acc = layerSignal[layer];
                        layerSignal[layer] = (acc.Signal + s, acc.Noise + n);
                    }
                }
            }
            progress?.Report((i + 1.0) / total);
        }

        var fp32Ms = LatencyTimer.MedianMs(() => reference.Run(inputs[0]), settings.LatencyRuns, ct: ct);
        progress?.Report((inputs.Count + LayerSqnrSamples + 1.0) / total);
        // Timed as /infer serves it: the capturing runner above skips the fusion passes to expose layer outputs.
        using var servedEngine = NetworkRunner.Create(served, threads: threads);
        var engineMs = LatencyTimer.MedianMs(() => servedEngine.RunOutput(inputs[0]), settings.LatencyRuns, ct: ct);
        progress?.Report(1);

        var notes = new List<string>();
        if (!engine.UsesEngine)
        {
            notes.Add("The quantized model was evaluated by ONNX Runtime on its simulated (dequantized) form: this build's engine lacks operator(s) " +
                      string.Join(", ", OperatorRegistry.FindUnsupported(served.Graph)) + ". Latency dsconvMs is that run's.");
        }
        IReadOnlyList<LayerSection>? layers = null;
        if (result is not null)
        {
            foreach (var (layer, sn) in layerSignal.Where(kv => kv.Value.Signal > 0))
            {
                result.OutputSqnrDb[layer] = Metrics.SqnrDb(sn.Signal, sn.Noise);
            }
            layers = result.Layers;
        }
        return new EvaluationResult(metrics.Accuracy(), metrics.Fidelity(), new LatencySection
        {
            Threads = threads,
            Batch = 1,
            Fp32OrtMs = fp32Ms,
            DsconvMs = engineMs,
            Speedup = engineMs > 0 ? fp32Ms / engineMs : 0,
        }, layers, notes);
    }, ct);

    public IInferenceModel LoadForInference(byte[] artifact, int threads)
    {
        var (model, metadata) = DSConvArtifact.Load(artifact);
        var runner = NetworkRunner.Create(model, threads: threads);
        return new ServedModel(runner, metadata?.Preprocessing ?? PreprocessingDefaults.FromModel(model), metadata?.Labels);
    }

    /// <summary>Output value of each DSConv layer, by layer name.</summary>
    private static Dictionary<string, string> LayerOutputs(Model quantized) =>
        quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv)
            .GroupBy(n => n.DisplayName, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Outputs[0], StringComparer.Ordinal);

    private static (double Signal, double Noise) SignalNoise(float[] reference, float[] test)
    {
        double s = 0, n = 0;
        for (var i = 0; i < reference.Length && i < test.Length; i++)
        {
            s += (double)reference[i] * reference[i];
            var d = (double)reference[i] - test[i];
            n += d * d;
        }
        return (s, n);
    }

    private sealed class Progress(Action<QuantizationProgress> report) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value) => report(value);
    }

    private sealed class ServedModel(NetworkRunner runner, PreprocessingOptions preprocessing, IReadOnlyList<string>? labels) : IInferenceModel
    {
        public PreprocessingOptions Preprocessing => preprocessing;
        public IReadOnlyList<string>? Labels => labels;
        public string Engine => runner.UsesEngine ? EngineName : FallbackName;
        public float[] Run(Tensor input) => runner.RunOutput(input).Floats;
    }
}
