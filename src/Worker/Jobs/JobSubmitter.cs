using DSConvService.Core.Errors;
using System.Text.Json;
using DSConvService.Worker.Artifacts;
using DSConvService.Core.Datasets;
using DSConvService.Worker.Hosting;
using DSConvService.Worker.Pipeline.Engine;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Jobs;

/// <summary>
/// Creates jobs: stores the uploads, then checks everything that can be checked up front (model,
/// options, labels, dataset zips) so that bad input is refused at once instead of failing later.
/// The job row is written last: a job exists only with all its files in place.
/// </summary>
public sealed class JobSubmitter(IJobStore jobs, FileStore files, IQuantizationEngine engine, IOptions<LimitsOptions> limits, TimeProvider clock)
{
    public async Task<Job> SubmitAsync(JobSubmission submission, CancellationToken ct)
    {
        var id = Guid.CreateVersion7().ToString("N");
        var max = limits.Value.MaxUploadBytes;
        try
        {
            var model = await files.SaveUploadAsync(id, UploadKind.Model, submission.Model, max, ct);
            var info = engine.Inspect(await File.ReadAllBytesAsync(model.Path, ct));

            var options = OptionsResolver.Resolve(OptionsResolver.Parse(submission.OptionsJson), info.DefaultPreprocessing, info.Task);
            CheckAgainstModel(options, info);

            string[]? labels = null;
            if (submission.Labels is not null)
            {
                var stored = await files.SaveUploadAsync(id, UploadKind.Labels, submission.Labels, max, ct);
                labels = LabelsFile.Read(stored.Path);
            }
            var reader = new ZipDatasetReader(limits.Value.ToDatasetLimits());
            if (submission.Calibration is not null)
            {
                var stored = await files.SaveUploadAsync(id, UploadKind.Calibration, submission.Calibration, max, ct);
                reader.Validate(stored.Path, imageFolder: false, labels: null, ct);
            }
            if (submission.Evaluation is not null)
            {
                var stored = await files.SaveUploadAsync(id, UploadKind.Evaluation, submission.Evaluation, max, ct);
                reader.Validate(stored.Path, imageFolder: true, labels, ct);
            }

            var job = new Job
            {
                Id = id,
                Owner = submission.Owner,
                Status = JobStatus.Queued,
                Stage = "queued",
                OptionsJson = JsonSerializer.Serialize(options, OptionsResolver.Json),
                CreatedAt = clock.GetUtcNow(),
                Inputs = new JobInputs
                {
                    ModelFileName = Path.GetFileName(submission.ModelFileName),
                    ModelSha256 = model.Sha256,
                    ModelBytes = model.Bytes,
                    HasCalibration = submission.Calibration is not null,
                    HasEvaluation = submission.Evaluation is not null,
                    HasLabels = labels is not null,
                },
            };
            await jobs.CreateAsync(job, ct);
            return job;
        }
        catch
        {
            files.DeleteJobFiles(id);
            throw;
        }
    }

    private static void CheckAgainstModel(QuantizeOptions options, ModelInfo info)
    {
        var p = options.Preprocessing!;
        var channels = p.ColorMode == "gray" ? 1 : 3;
        var shape = info.InputShape;
        var errors = new List<string>();
        if (shape.Length == 4 && shape[1] > 0 && shape[1] != channels)
        {
            errors.Add($"preprocessing.colorMode \"{p.ColorMode}\" gives {channels} channel(s) but the model input '{info.InputName}' takes {shape[1]}.");
        }
        if (shape.Length == 4 && shape[2] > 0 && shape[3] > 0 && (shape[2] != p.Height || shape[3] != p.Width))
        {
            errors.Add($"preprocessing width x height {p.Width}x{p.Height} does not match the model input '{info.InputName}' ({shape[3]}x{shape[2]}).");
        }
        if (errors.Count > 0)
        {
            throw new InvalidOptionsException(errors);
        }
    }
}
