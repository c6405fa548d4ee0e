using System.Diagnostics;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Onnx.Structure;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Policy;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Runs;

/// <summary>What a run produced: the artifact, written to <see cref="RunRequest.ArtifactPath"/> (<paramref name="ArtifactBytes"/> long), and the report (DESIGN 5).</summary>
public sealed record RunOutcome(string ArtifactPath, long ArtifactBytes, QuantizationReport Report);

/// <summary>
/// The one front door for a quantization run, shared by the service's worker and the CLI: quantize
/// (and adapt), write the artifact file, load it back as it will be served, evaluate it once with
/// <see cref="ModelEvaluator"/>, build the report. Callers only read inputs and write outputs.
/// Cancellation is checked between layers, batches and steps.
/// </summary>
public static class QuantizationRun
{
    public static RunOutcome Execute(RunRequest request, CancellationToken ct = default)
    {
        var options = request.Options;
        options.Validate();
        var settings = request.Settings;
        var threads = settings.Threads > 0 ? settings.Threads : Environment.ProcessorCount;
        var notes = new List<string>();
        if (options.Adapt && request.Calibration is not { Count: > 0 })
        {
            notes.Add("adapt was asked for but no calibration images were given: the data-free quantization is reported.");
            options = options with { Adapt = false };
        }

        var progress = request.Progress;
        var quantizeClock = Stopwatch.StartNew();
        // Structural: every weight above 64 KiB stays in the file until the layer that uses it is quantized.
        var fp32 = OnnxStructureReader.Load(request.Fp32ModelPath);
        var fp32Bytes = new FileInfo(request.Fp32ModelPath).Length;
        var quantized = Quantize(request, fp32, fp32Bytes, options, threads, ct);
        options = quantized.Options;
        quantizeClock.Stop();
        ct.ThrowIfCancellationRequested();
        // A big model: the quantizer's own model and its per-layer buffers are garbage now; free them before evaluating.
        var big = fp32Bytes >= ReleasedMemory.DefaultThreshold;
        if (big)
        {
            ReleasedMemory.CollectNow();
        }

        // Evaluated as it will be served: the artifact read back, on the integer kernels. Read from the file structurally, so
        // neither its bytes nor a model-held copy of its codes sit beside a session: each session reads the codes it packs.
        var served = DSConvArtifact.Load(request.ArtifactPath).Model;
        var (inputs, source) = request.Evaluation is { } e ? (e.Inputs, "evaluation")
            : request.Fidelity is { Count: > 0 } f ? (f, "fidelity")
            : request.Calibration is { Count: > 0 } c ? (c, "calibration")
            : (SyntheticInputs.Create(request.Preprocessing, settings.SyntheticSamples), "synthetic");
        var labels = request.Evaluation?.Labels;
        var evaluateClock = Stopwatch.StartNew();
        var scratch = request.ScratchPrefix ?? Path.Combine(Path.GetTempPath(), $"dsconv-run-{Guid.NewGuid():N}");
        using var reference = Fp32Reference.FromFile(request.Fp32ModelPath, scratch, ct);
        var evaluation = ModelEvaluator.Evaluate(reference, served, inputs, labels, new EvaluationOptions
        {
            Threads = threads,
            MeasureLatency = settings.LatencyRuns > 0,
            LatencyRuns = Math.Max(1, settings.LatencyRuns),
            CollectBetweenStages = big,
            StreamLayerRuns = big,
        }, ct, Slice(progress, "evaluating", 0.4, options.Adapt && labels is not null ? 0.95 : 1.0));
        if (options.Adapt && evaluation.Accuracy is not null)
        {
            notes.Add(WithoutAdaptation(request, scratch, reference, fp32, options, inputs, labels!, threads, Slice(progress, "evaluating without adaptation", 0.95, 1.0), ct));
        }
        evaluateClock.Stop();

        var report = new QuantizationReport
        {
            Model = quantized.Model,
            Accuracy = evaluation.Accuracy,
            Fidelity = evaluation.Fidelity,
            Latency = evaluation.Latency,
            Layers = quantized.Layers.Select(l => l with { OutputSqnrDb = evaluation.LayerOutputSqnrDb.TryGetValue(l.Name, out var sqnr) ? sqnr : null }).ToList(),
            Policy = quantized.Policy,
            Quantization = quantized.Method,
            Timings = new TimingsSection { QuantizeSeconds = quantizeClock.Elapsed.TotalSeconds, EvaluateSeconds = evaluateClock.Elapsed.TotalSeconds },
            FidelityInputs = source,
            Notes = [.. quantized.Notes, .. evaluation.Notes, .. notes],
        };
        return new RunOutcome(request.ArtifactPath, quantized.ArtifactBytes, report);
    }

    /// <summary>
    /// What the report needs of the quantization, and the artifact's size (the artifact itself is in its file). The
    /// quantizer's own model (its int8 codes) is not kept: the evaluation runs the served model, and the report only these.
    /// </summary>
    private sealed record QuantizedRun(long ArtifactBytes, QuantizationOptions Options, ModelSection Model, IReadOnlyList<LayerSection> Layers,
        QuantizationMethodSection Method, PolicySection? Policy, IReadOnlyList<string> Notes);

    private static QuantizedRun Quantize(RunRequest request, Graph.Model fp32, long fp32Bytes, QuantizationOptions options, int threads, CancellationToken ct)
    {
        var stage = options.Adapt ? "quantizing and adapting" : "quantizing";
        var progress = request.Progress;
        progress?.Report(new RunProgress(stage, 0));
        QuantizationResult result;
        PolicyOutcome? policy = null;
        if (options.Target is not null)
        {
            // The policy sees the selection inputs only (calibration or synthetic), never the evaluation or fidelity images.
            policy = PrecisionPolicy.Choose(fp32, fp32Bytes, options,
                SelectionInputs.For(request.Calibration, request.Preprocessing), options.Adapt ? request.Calibration : null,
                request.Preprocessing, request.Labels?.ToArray(), threads, Slice(progress, "choosing precision per layer", 0, 0.4), ct);
            result = policy.Result;
            options = policy.Options;
        }
        else
        {
            var adapting = options.Adapt;
            result = DSConvQuantizer.Quantize(fp32, options, options.Adapt ? request.Calibration : null,
                progress is null ? null : new Relay<QuantizationProgress>(p =>
                {
                    // Quantizing layers is quick; adaptation (when asked) takes most of the time.
                    var (from, to) = p.Stage == "adapt" ? (0.1, 0.4) : (0.0, adapting ? 0.1 : 0.4);
                    progress.Report(new RunProgress(stage, from + (to - from) * p.Fraction));
                }), ct);
        }
        var artifactBytes = result.SaveArtifact(request.ArtifactPath, request.Preprocessing, request.Labels?.ToArray());
        return new QuantizedRun(artifactBytes, options, result.ModelSection(fp32Bytes, artifactBytes), result.Layers, result.MethodSection,
            policy?.Section, [.. result.Notes, .. policy?.Notes ?? []]);
    }

    /// <summary>DESIGN 2.4 asks for accuracy with and without adaptation: the data-free quantization, evaluated on the same images.</summary>
    private static string WithoutAdaptation(RunRequest request, string scratch, Fp32Reference reference, Graph.Model fp32, QuantizationOptions options, IReadOnlyList<Tensors.Tensor> inputs,
        IReadOnlyList<int> labels, int threads, IProgress<double>? progress, CancellationToken ct)
    {
        var dataFree = DSConvQuantizer.Quantize(fp32, options with { Adapt = false }, null, null, ct);
        var path = $"{scratch}-data-free.onnx";
        EvaluationResult result;
        try
        {
            dataFree.SaveArtifact(path, request.Preprocessing, request.Labels?.ToArray());
            var served = DSConvArtifact.Load(path).Model;
            result = ModelEvaluator.Evaluate(reference, served, inputs, labels,
                new EvaluationOptions { Threads = threads, MeasureLatency = false, LayerSamples = 0 }, ct, progress);
        }
        finally
        {
            File.Delete(path);
        }
        var a = result.Accuracy!;
        return FormattableString.Invariant(
            $"Without adaptation (data-free): quantized top-1 {a.QuantizedTop1:F4} (drop {a.Top1Drop:F4}), top-1 agreement {result.Fidelity.Top1Agreement:F4}.");
    }

    private static Relay<double>? Slice(IProgress<RunProgress>? progress, string stage, double from, double to)
    {
        if (progress is null)
        {
            return null;
        }
        progress.Report(new RunProgress(stage, from));
        return new Relay<double>(p => progress.Report(new RunProgress(stage, from + (to - from) * Math.Clamp(p, 0, 1))));
    }

    /// <summary>Reports synchronously on the caller's thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
    private sealed class Relay<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
