using System.Diagnostics;
using DSConvService.Core.Execution;
using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Graph;
using DSConvService.Core.Numerics;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;
using GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel;

namespace DSConvService.Core.Evaluation;

public sealed record EvaluationOptions
{
    public int Threads { get; init; } = Environment.ProcessorCount;
    public bool MeasureLatency { get; init; } = true;
    public int LatencyRuns { get; init; } = 20;

    /// <summary>Inputs used for the per-layer output SQNR (captures every layer's tensor, so keep it small).</summary>
    public int LayerSamples { get; init; } = 8;

    /// <summary>
    /// A full collection after each stage's engine session is dropped (see <see cref="ReleasedMemory"/>): for big
    /// models, whose packed kernels are large-object garbage once a stage is done.
    /// </summary>
    public bool CollectBetweenStages { get; init; }

    /// <summary>
    /// The per-layer SQNR runs the quantized model streamed (<see cref="NetworkRunner.CreateStreamed"/>: one layer's packed
    /// kernels at a time) instead of in a second session beside what the outputs' session left: for big models. Same sums.
    /// </summary>
    public bool StreamLayerRuns { get; init; }
}

/// <summary>What <see cref="ModelEvaluator"/> measured.</summary>
public sealed record EvaluationResult
{
    public AccuracySection? Accuracy { get; init; }
    public required FidelitySection Fidelity { get; init; }
    public LatencySection? Latency { get; init; }

    /// <summary>Output SQNR (dB) of each quantized layer: the quantized network's tensor against the fp32 network's.</summary>
    public required IReadOnlyDictionary<string, double> LayerOutputSqnrDb { get; init; }

    /// <summary>True when the quantized outputs came from the integer DSConv operators, false when from the float simulation.</summary>
    public bool IntegerEngine { get; init; }
    public double Seconds { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>
/// Compares a quantized model with its fp32 original (run by ONNX Runtime): accuracy against
/// labels, fidelity (top-1 agreement, mean KL, output SQNR, cosine), per-layer output SQNR and
/// latency. Quantized outputs come from this engine's DSConv operators when they are available,
/// else from the simulated network (documented in the notes).
/// </summary>
public static class ModelEvaluator
{
    public static EvaluationResult Evaluate(byte[] fp32Onnx, Model quantized, IReadOnlyList<Tensor> inputs,
        IReadOnlyList<int>? labels = null, EvaluationOptions? options = null, CancellationToken ct = default, IProgress<double>? progress = null)
    {
        using var reference = Fp32Reference.FromBytes(fp32Onnx);
        return Evaluate(reference, quantized, inputs, labels, options, ct, progress);
    }

    public static EvaluationResult Evaluate(Fp32Reference fp32, Model quantized, IReadOnlyList<Tensor> inputs,
        IReadOnlyList<int>? labels = null, EvaluationOptions? options = null, CancellationToken ct = default, IProgress<double>? progress = null)
    {
        options ??= new EvaluationOptions();
        if (inputs.Count == 0)
        {
            throw new ArgumentException("At least one input is needed to evaluate.");
        }
        var watch = Stopwatch.StartNew();
        var notes = new List<string>();
        var integer = OperatorRegistry.FindUnsupported(quantized.Graph).Count == 0;
        var runModel = integer ? quantized : DSConvSimulation.ToFloatGraph(quantized, simulateActivations: true);
        if (!integer)
        {
            notes.Add("Quantized outputs were computed by the float simulation of the DSConv network (integer operators not available).");
        }

        if (fp32.Optimization != GraphOptimizationLevel.ORT_ENABLE_ALL)
        {
            notes.Add(fp32.OptimizationNote);
        }
        var reference = new List<Tensor>(inputs.Count);
        using (var ort = fp32.Open(options.Threads, optimization: fp32.Optimization))
        {
            // Stacked into batches when the model's batch dimension is free (same results, far fewer calls).
            var batch = ort.InputShape(0) is { Length: > 0 } s && s[0] < 0 && inputs.All(t => t.Shape[0] == 1 && t.Shape.AsSpan().SequenceEqual(inputs[0].Shape)) ? 64 : 1;
            for (var start = 0; start < inputs.Count; start += batch)
            {
                ct.ThrowIfCancellationRequested();
                var count = Math.Min(batch, inputs.Count - start);
                var y = ort.Run(batch == 1 ? inputs[start] : NetworkRunner.Stack(inputs, start, count))[0];
                for (var i = 0; i < count; i++)
                {
                    reference.Add(batch == 1 ? y : NetworkRunner.Row(y, i, count));
                }
                progress?.Report(0.4 * reference.Count / inputs.Count);
            }
        }
        var outputs = new List<Tensor>(inputs.Count);
        LatencySection? latency = null;
        using (var runner = NetworkRunner.Create(runModel, threads: options.Threads))
        {
            for (var start = 0; start < inputs.Count; start += 256)
            {
                ct.ThrowIfCancellationRequested();
                outputs.AddRange(runner.RunMany(inputs.Skip(start).Take(256).ToList()).Select(runner.Output));
                progress?.Report(0.4 + 0.4 * outputs.Count / inputs.Count);
            }
            // Timed on the session that computed the outputs: the same graph and options, its weights packed once.
            if (options.MeasureLatency && integer && runner.Engine is { } engine)
            {
                latency = Latency(fp32, engine, inputs[0], options, ct);
            }
        }
        var fidelity = OutputComparison.Fidelity(reference, outputs);
        var accuracy = labels is null ? null : OutputComparison.Accuracy(reference, outputs, labels);
        if (options.CollectBetweenStages)
        {
            ReleasedMemory.CollectNow();
        }
        var layerSqnr = LayerSqnr(fp32, quantized, runModel, inputs.Take(options.LayerSamples).ToList(), options, notes, ct);
        if (options.CollectBetweenStages)
        {
            ReleasedMemory.CollectNow();
        }
        progress?.Report(0.9);
        progress?.Report(1);
        if (options.MeasureLatency && !integer)
        {
            notes.Add("Latency not measured: the integer DSConv operators are not available in this build.");
        }
        return new EvaluationResult
        {
            Accuracy = accuracy,
            Fidelity = fidelity,
            Latency = latency,
            LayerOutputSqnrDb = layerSqnr,
            IntegerEngine = integer,
            Seconds = watch.Elapsed.TotalSeconds,
            Notes = notes,
        };
    }

    /// <summary>Fills <see cref="QuantizationResult.OutputSqnrDb"/> from an evaluation.</summary>
    public static void ApplyTo(EvaluationResult evaluation, QuantizationResult result)
    {
        foreach (var (k, v) in evaluation.LayerOutputSqnrDb)
        {
            result.OutputSqnrDb[k] = v;
        }
    }

    // The fp32 side of each layer comes from ONNX Runtime with the layer outputs added as model outputs, so the
    // fp32 weights stay mapped from the file (our engine would load every one of them).
    private static Dictionary<string, double> LayerSqnr(Fp32Reference fp32, Model quantized, Model runModel, List<Tensor> inputs,
        EvaluationOptions options, List<string> notes, CancellationToken ct)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (inputs.Count == 0)
        {
            return result;
        }
        try
        {
            var layers = quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv)
                .Select(n => (Name: n.DisplayName, Value: n.Outputs[0]))
                .Where(l => fp32.NodeOutputs.Contains(l.Value))
                .ToList();
            var names = layers.Select(l => l.Value).ToList();
            var signal = new double[layers.Count];
            var noise = new double[layers.Count];
            using var fp = fp32.Open(options.Threads, names, fp32.Optimization);
            var index = names.Select(n => fp.OutputNames.ToList().IndexOf(n)).ToArray();
            var layerOf = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
            void Add(int i, float[] r, float[] t)
            {
                for (var k = 0; k < r.Length; k++)
                {
                    signal[i] += (double)r[k] * r[k];
                    var d = (double)r[k] - t[k];
                    noise[i] += d * d;
                }
            }
            if (options.StreamLayerRuns)
            {
                // Several inputs per pass (each pass packs every layer again): as many as keep their fp32 layer outputs within
                // the streamed session's frontier. Each layer still adds its inputs in order, so the sums are those below.
                using var streamed = NetworkRunner.CreateStreamed(runModel, names, options.Threads);
                for (int start = 0, chunk = 1; start < inputs.Count;)
                {
                    ct.ThrowIfCancellationRequested();
                    var count = Math.Min(chunk, inputs.Count - start);
                    var expected = inputs.Skip(start).Take(count).Select(x => fp.Run(x)).ToList();
                    var seenOf = new int[count];
                    streamed.RunManyCaptured(inputs.Skip(start).Take(count).ToList(), (s, name, value) =>
                    {
                        var i = layerOf[name];
                        seenOf[s]++;
                        Add(i, expected[s][index[i]].Floats, value.Floats);
                    });
                    if (seenOf.Any(n => n != layers.Count))
                    {
                        throw new InvalidOperationException($"the quantized run produced {seenOf.Min()} of the {layers.Count} layer outputs.");
                    }
                    if (start == 0)
                    {
                        var bytes = index.Sum(i => (long)expected[0][i].Length * sizeof(float));
                        chunk = (int)Math.Clamp(StreamedSession.FrontierBytes / Math.Max(1, bytes), 1, int.MaxValue);
                    }
                    start += count;
                }
            }
            else
            {
                using var q = NetworkRunner.Create(runModel, names, options.Threads);
                foreach (var x in inputs)
                {
                    ct.ThrowIfCancellationRequested();
                    var a = fp.Run(x);
                    var seen = 0;
                    // Compared as each layer's output is computed: copies of them all would pile up as large-object garbage.
                    q.RunCaptured(x, (name, value) =>
                    {
                        var i = layerOf[name];
                        seen++;
                        Add(i, a[index[i]].Floats, value.Floats);
                    });
                    if (seen != layers.Count)
                    {
                        throw new InvalidOperationException($"the quantized run produced {seen} of the {layers.Count} layer outputs.");
                    }
                }
            }
            for (var i = 0; i < layers.Count; i++)
            {
                result[layers[i].Name] = Metrics.SqnrDb(signal[i], noise[i]);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            notes.Add($"Per-layer output SQNR could not be measured: {e.Message}");
        }
        return result;
    }

    private static LatencySection Latency(Fp32Reference fp32, InferenceSession engine, Tensor input, EvaluationOptions options, CancellationToken ct)
    {
        using var ort = fp32.Open(options.Threads, optimization: fp32.Optimization);
        var ortMs = LatencyTimer.MedianMs(() => ort.Run(input), options.LatencyRuns, ct: ct);
        var ourMs = LatencyTimer.MedianMs(() => engine.Run(input), options.LatencyRuns, ct: ct);
        return new LatencySection
        {
            Threads = options.Threads,
            Batch = input.Shape[0],
            Fp32OrtMs = ortMs,
            DsconvMs = ourMs,
            Speedup = ourMs > 0 ? ortMs / ourMs : 0,
        };
    }
}
