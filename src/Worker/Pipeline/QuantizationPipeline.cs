using System.Diagnostics;
using System.Text.Json;
using DSConvService.Core.Imaging;
using DSConvService.Core.Reports;
using DSConvService.Core.Tensors;
using DSConvService.Worker.Artifacts;
using DSConvService.Core.Datasets;
using DSConvService.Worker.Hosting;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Pipeline;

/// <summary>
/// One job from uploads to report: validate the model → load datasets → fold and quantize (adapt
/// when asked and calibration exists) → evaluate fidelity / accuracy / latency → write the artifact
/// and the report. Cancellation is checked between steps and between images; the engine checks it
/// between layers and batches.
/// </summary>
public sealed class QuantizationPipeline(
    IQuantizationEngine engine,
    FileStore files,
    IOptions<LimitsOptions> limits,
    IOptions<JobRunnerOptions> runner,
    ILogger<QuantizationPipeline> logger)
{
    public static readonly JsonSerializerOptions ReportJson = new(JsonSerializerDefaults.Web);

    public async Task<PipelineResult> RunAsync(Job job, IJobProgress progress, CancellationToken ct)
    {
        var settings = runner.Value;
        progress.Report("validating", 0);
        var modelBytes = await File.ReadAllBytesAsync(files.UploadPath(job.Id, UploadKind.Model), ct);
        var info = engine.Inspect(modelBytes);
        var options = JsonSerializer.Deserialize<QuantizeOptions>(job.OptionsJson, OptionsResolver.Json)
            ?? throw new InvalidOperationException("The job has no options.");
        var quantization = OptionsResolver.ToQuantization(options);
        var preprocessing = OptionsResolver.ToPreprocessing(options);
        var labels = job.Inputs.HasLabels ? LabelsFile.Read(files.UploadPath(job.Id, UploadKind.Labels)) : null;
        var notes = new List<string>();
        ct.ThrowIfCancellationRequested();

        var reader = new ZipDatasetReader(limits.Value.ToDatasetLimits());
        IReadOnlyList<Tensor>? calibration = null;
        if (job.Inputs.HasCalibration)
        {
            var images = reader.ReadCalibration(files.UploadPath(job.Id, UploadKind.Calibration), settings.MaxCalibrationImages, ct);
            calibration = Decode(images, preprocessing, StageProgress.Start(progress, "loading calibration images", 0.02, 0.06), ct);
        }
        IReadOnlyList<Tensor>? evaluation = null;
        IReadOnlyList<int>? evaluationLabels = null;
        if (job.Inputs.HasEvaluation)
        {
            var (images, _) = reader.ReadEvaluation(files.UploadPath(job.Id, UploadKind.Evaluation), labels, settings.MaxEvaluationImages, ct);
            evaluation = Decode(images, preprocessing, StageProgress.Start(progress, "loading evaluation images", 0.06, 0.12), ct);
            evaluationLabels = images.Select(i => i.ClassIndex).ToArray();
        }
        if (quantization.Adapt && calibration is null)
        {
            notes.Add("adapt was asked for but no calibration images were given: the data-free quantization is reported.");
            quantization = quantization with { Adapt = false };
        }

        var quantizeClock = Stopwatch.StartNew();
        var quantized = await engine.QuantizeAsync(modelBytes, quantization, quantization.Adapt ? calibration : null, preprocessing, labels,
            StageProgress.Start(progress, quantization.Adapt ? "quantizing and adapting" : "quantizing", 0.12, 0.5), ct);
        quantizeClock.Stop();
        ct.ThrowIfCancellationRequested();

        var (inputs, source) = evaluation is not null ? (evaluation, "evaluation")
            : calibration is not null ? (calibration, "calibration")
            : (Synthetic(preprocessing, settings.SyntheticSamples), "synthetic");
        var evaluateClock = Stopwatch.StartNew();
        var evaluated = await engine.EvaluateAsync(modelBytes, quantized, inputs, source == "evaluation" ? evaluationLabels : null,
            new EvaluationSettings(settings.Threads, settings.LatencyRuns), StageProgress.Start(progress, "evaluating", 0.5, 0.97), ct);
        if (quantization.Adapt && evaluated.Accuracy is not null)
        {
            notes.Add(await WithoutAdaptationAsync(modelBytes, quantization, preprocessing, labels, inputs, evaluationLabels!, settings, progress, ct));
        }
        evaluateClock.Stop();
        ct.ThrowIfCancellationRequested();

        progress.Report("writing artifact", 0.98);
        var artifact = await files.SaveArtifactAsync(job.Id, quantized.ArtifactBytes, ct);
        var report = new QuantizationReport
        {
            Model = new ModelSection
            {
                Parameters = quantized.Parameters > 0 ? quantized.Parameters : info.Parameters,
                Fp32Bytes = modelBytes.LongLength,
                QuantizedBytes = artifact.Bytes,
                CompressionRatio = artifact.Bytes > 0 ? (double)modelBytes.LongLength / artifact.Bytes : 0,
                BitsPerWeight = quantized.BitsPerWeight,
                QuantizedLayers = quantized.QuantizedLayers,
                SkippedLayers = quantized.SkippedLayers,
            },
            Accuracy = evaluated.Accuracy,
            Fidelity = evaluated.Fidelity,
            Latency = evaluated.Latency,
            Layers = evaluated.Layers ?? quantized.Layers,
            Timings = new TimingsSection { QuantizeSeconds = quantizeClock.Elapsed.TotalSeconds, EvaluateSeconds = evaluateClock.Elapsed.TotalSeconds },
            FidelityInputs = source,
            Notes = [.. quantized.Notes, .. evaluated.Notes ?? [], .. notes],
        };
        report = ModelTask.Apply(report, options.Task);
        var reportJson = JsonSerializer.Serialize(report, ReportJson);
        await files.SaveReportAsync(job.Id, System.Text.Encoding.UTF8.GetBytes(reportJson), ct);
        logger.LogInformation("Job quantized {Layers} layers; fidelity on {Samples} {Source:l} inputs, top-1 agreement {Agreement:F4}",
            report.Model.QuantizedLayers, report.Fidelity?.Samples, source, report.Fidelity?.Top1Agreement);
        return new PipelineResult(reportJson, artifact);
    }

    /// <summary>DESIGN 2.4 asks for accuracy with and without adaptation: the data-free quantization, evaluated on the same images.</summary>
    private async Task<string> WithoutAdaptationAsync(byte[] modelBytes, Core.Quantization.QuantizationOptions quantization, PreprocessingOptions preprocessing,
        IReadOnlyList<string>? labels, IReadOnlyList<Tensor> inputs, IReadOnlyList<int> evaluationLabels, JobRunnerOptions settings,
        IJobProgress progress, CancellationToken ct)
    {
        var dataFree = await engine.QuantizeAsync(modelBytes, quantization with { Adapt = false }, null, preprocessing, labels, null, ct);
        var result = await engine.EvaluateAsync(modelBytes, dataFree, inputs, evaluationLabels, new EvaluationSettings(settings.Threads, 1),
            StageProgress.Start(progress, "evaluating without adaptation", 0.97, 0.98), ct);
        var a = result.Accuracy!;
        return FormattableString.Invariant(
            $"Without adaptation (data-free): quantized top-1 {a.QuantizedTop1:F4} (drop {a.Top1Drop:F4}), top-1 agreement {result.Fidelity.Top1Agreement:F4}.");
    }

    private List<Tensor> Decode(IReadOnlyList<DatasetImage> images, PreprocessingOptions preprocessing, IProgress<double> progress, CancellationToken ct)
    {
        var tensors = new List<Tensor>(images.Count);
        for (var i = 0; i < images.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                tensors.Add(engine.Preprocess(images[i].Bytes, preprocessing, limits.Value.MaxImagePixels));
            }
            catch (ImageDecodeException e)
            {
                throw new DatasetException($"Image '{images[i].Name}': {e.Message}");
            }
            progress.Report((i + 1.0) / images.Count);
        }
        return tensors;
    }

    /// <summary>Seeded standard-normal inputs in the model's input space (the same every run).</summary>
    private static List<Tensor> Synthetic(PreprocessingOptions p, int count)
    {
        var shape = new[] { 1, p.Channels, p.Height, p.Width };
        var random = new Random(12345);
        var list = new List<Tensor>(count);
        for (var s = 0; s < count; s++)
        {
            var data = new float[shape[1] * shape[2] * shape[3]];
            for (var i = 0; i < data.Length; i++)
            {
                // Box-Muller
                var u1 = 1.0 - random.NextDouble();
                var u2 = random.NextDouble();
                data[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }
            list.Add(Tensor.FromFloats(shape, data));
        }
        return list;
    }
}

/// <summary>What a finished pipeline produced.</summary>
public sealed record PipelineResult(string ReportJson, StoredFile Artifact);
