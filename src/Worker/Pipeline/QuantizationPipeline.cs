using System.Text.Json;
using DSConvService.Core.Datasets;
using DSConvService.Core.Imaging;
using DSConvService.Core.Reports;
using DSConvService.Core.Runs;
using DSConvService.Core.Tensors;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Worker.Hosting;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Pipeline;

/// <summary>
/// One job: read its inputs (model, options, labels, dataset zips decoded into tensors) → Core's
/// front door (<see cref="QuantizationRun"/>: quantize, artifact, evaluation, report) → write the
/// artifact and the report. Cancellation is checked between images here and between layers and
/// batches inside the run.
/// </summary>
public sealed class QuantizationPipeline(
    IQuantizationEngine engine,
    IBlobStore blobs,
    FileStore files,
    IOptions<LimitsOptions> limits,
    IOptions<JobRunnerOptions> runner,
    ILogger<QuantizationPipeline> logger)
{
    public static JsonSerializerOptions ReportJson => ReportSerialization.Options;

    public async Task<PipelineResult> RunAsync(Job job, IJobProgress progress, CancellationToken ct)
    {
        var settings = runner.Value;
        progress.Report("validating", 0);
        // The model stays a file for the whole run (a postgres blob is spooled under the data folder until disposed):
        // the run reads its weights layer by layer from it, so no copy of the whole model is held in memory.
        using var model = await blobs.OpenLocalAsync(job.Id, BlobKind.Model, ct);
        engine.InspectFile(model.Path);
        var options = JsonSerializer.Deserialize<QuantizeOptions>(job.OptionsJson, OptionsResolver.Json)
            ?? throw new InvalidOperationException("The job has no options.");
        var preprocessing = OptionsResolver.ToPreprocessing(options);
        string[]? labels = null;
        if (job.Inputs.HasLabels)
        {
            using var local = await blobs.OpenLocalAsync(job.Id, BlobKind.Labels, ct);
            labels = LabelsFile.Read(local.Path);
        }
        ct.ThrowIfCancellationRequested();

        var reader = new ZipDatasetReader(limits.Value.ToDatasetLimits());
        IReadOnlyList<Tensor>? calibration = null;
        if (job.Inputs.HasCalibration)
        {
            using var local = await blobs.OpenLocalAsync(job.Id, BlobKind.Calibration, ct);
            var images = reader.ReadCalibration(local.Path, settings.MaxCalibrationImages, ct);
            calibration = Decode(images, preprocessing, StageProgress.Start(progress, "loading calibration images", 0.02, 0.06), ct);
        }
        LabelledInputs? evaluation = null;
        if (job.Inputs.HasEvaluation)
        {
            using var local = await blobs.OpenLocalAsync(job.Id, BlobKind.Evaluation, ct);
            var (images, _) = reader.ReadEvaluation(local.Path, labels, settings.MaxEvaluationImages, ct);
            var tensors = Decode(images, preprocessing, StageProgress.Start(progress, "loading evaluation images", 0.06, 0.12), ct);
            evaluation = new LabelledInputs(tensors, images.Select(i => i.ClassIndex).ToArray());
        }

        // The run writes the artifact to a spool file and evaluates it from there; it is streamed into the store below.
        var artifactPath = files.NewSpoolPath($"{job.Id}-artifact");
        try
        {
            var outcome = await engine.RunAsync(new RunRequest
            {
                Fp32ModelPath = model.Path,
                ArtifactPath = artifactPath,
                ScratchPrefix = Path.ChangeExtension(files.NewSpoolPath($"{job.Id}-reference"), null),
                Options = OptionsResolver.ToQuantization(options),
                Preprocessing = preprocessing,
                Labels = labels,
                Calibration = calibration,
                Evaluation = evaluation,
                Settings = new RunSettings { Threads = settings.Threads, LatencyRuns = settings.LatencyRuns, SyntheticSamples = settings.SyntheticSamples },
                Progress = new RunSlice(progress, 0.12, 0.97),
            }, ct);
            ct.ThrowIfCancellationRequested();

            progress.Report("writing artifact", 0.98);
            StoredBlob artifact;
            await using (var file = File.OpenRead(outcome.ArtifactPath))
            {
                artifact = await blobs.WriteAsync(job.Id, BlobKind.Artifact, file, long.MaxValue, ct);
            }
            var report = ModelTask.Apply(outcome.Report, options.Task);
            var reportJson = JsonSerializer.Serialize(report, ReportJson);
            await blobs.WriteAsync(job.Id, BlobKind.Report, new MemoryStream(System.Text.Encoding.UTF8.GetBytes(reportJson), writable: false), long.MaxValue, ct);
            logger.LogInformation("Job quantized {Layers} layers; fidelity on {Samples} {Source:l} inputs, top-1 agreement {Agreement:F4}",
                report.Model.QuantizedLayers, report.Fidelity?.Samples, report.FidelityInputs, report.Fidelity?.Top1Agreement);
            return new PipelineResult(reportJson, artifact);
        }
        finally
        {
            File.Delete(artifactPath);
        }
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
            catch (InvalidImageException e)
            {
                throw new DatasetException($"Image '{images[i].Name}': {e.Message}");
            }
            progress.Report((i + 1.0) / images.Count);
        }
        return tensors;
    }

    /// <summary>Maps the run's own stages and 0..1 progress onto its slice [from, to] of the job's progress.</summary>
    private sealed class RunSlice(IJobProgress job, double from, double to) : IProgress<RunProgress>
    {
        public void Report(RunProgress value) => job.Report(value.Stage, from + (to - from) * Math.Clamp(value.Fraction, 0, 1));
    }
}

/// <summary>What a finished pipeline produced.</summary>
public sealed record PipelineResult(string ReportJson, StoredBlob Artifact);
