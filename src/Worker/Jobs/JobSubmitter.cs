using DSConvService.Core.Errors;
using System.Text.Json;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Blobs;
using DSConvService.Core.Datasets;
using DSConvService.Core.Quantization;
using DSConvService.Worker.Hosting;
using DSConvService.Worker.Pipeline.Engine;
using Microsoft.Extensions.Options;

namespace DSConvService.Worker.Jobs;

/// <summary>
/// Creates jobs: stores the uploads as they arrive (streamed to their final place), then checks
/// everything that can be checked up front (model and its shapes, the memory one run needs, options,
/// labels, dataset zips) so that bad input is refused at once instead of failing later. The job row
/// is written last: a job exists only with all its files in place; a submission that fails or is
/// abandoned removes its files (and the sweeper removes what a crash left).
/// </summary>
public sealed class JobSubmitter(IJobStore jobs, IBlobStore blobs, IQuantizationEngine engine, IOptions<LimitsOptions> limits, TimeProvider clock)
{
    // The check reads the model structurally (large weights stay in the file) but runs shape inference and the
    // optimizer passes: one at a time, so parallel uploads do not multiply that work.
    private readonly SemaphoreSlim _inspecting = new(1, 1);

    /// <summary>Starts a submission: a fresh job id whose uploads are saved one by one.</summary>
    public UploadSession Begin() => new(blobs, Guid.CreateVersion7().ToString("N"), limits.Value.MaxUploadBytes);

    /// <summary>Checks the saved uploads and queues the job; throws the input's problem otherwise (the session then deletes the files).</summary>
    public async Task<Job> CompleteAsync(UploadSession session, string? optionsJson, string? modelFileName, string? owner, CancellationToken ct)
    {
        var model = session.Saved(UploadKind.Model) ?? throw new InvalidOperationException("The model upload is missing.");
        ModelInfo info;
        await _inspecting.WaitAsync(ct);
        try
        {
            using var local = await blobs.OpenLocalAsync(session.JobId, BlobKind.Model, ct);
            info = engine.InspectFile(local.Path);
        }
        finally
        {
            _inspecting.Release();
        }
        var limit = limits.Value.MaxInferenceMemoryBytes;
        if (info.Memory is { } memory && memory.PlanBytes > limit)
        {
            throw new InferenceMemoryException(memory, limit);
        }

        var options = OptionsResolver.Resolve(OptionsResolver.Parse(optionsJson), info.DefaultPreprocessing, info.Task);
        CheckAgainstModel(options, info);

        string[]? labels = null;
        if (session.Has(UploadKind.Labels))
        {
            using var local = await blobs.OpenLocalAsync(session.JobId, BlobKind.Labels, ct);
            labels = LabelsFile.Read(local.Path);
        }
        var reader = new ZipDatasetReader(limits.Value.ToDatasetLimits());
        if (session.Has(UploadKind.Calibration))
        {
            using var local = await blobs.OpenLocalAsync(session.JobId, BlobKind.Calibration, ct);
            reader.Validate(local.Path, imageFolder: false, labels: null, ct);
        }
        if (session.Has(UploadKind.Evaluation))
        {
            using var local = await blobs.OpenLocalAsync(session.JobId, BlobKind.Evaluation, ct);
            reader.Validate(local.Path, imageFolder: true, labels, ct);
        }

        var job = new Job
        {
            Id = session.JobId,
            Owner = owner,
            Status = JobStatus.Queued,
            Stage = "queued",
            OptionsJson = JsonSerializer.Serialize(options, OptionsResolver.Json),
            CreatedAt = clock.GetUtcNow(),
            Inputs = new JobInputs
            {
                ModelFileName = Path.GetFileName(modelFileName ?? "model.onnx"),
                ModelSha256 = model.Sha256,
                ModelBytes = model.Bytes,
                HasCalibration = session.Saved(UploadKind.Calibration) is not null,
                HasEvaluation = session.Saved(UploadKind.Evaluation) is not null,
                HasLabels = labels is not null,
            },
        };
        await jobs.CreateAsync(job, ct);
        session.Committed = true;
        return job;
    }

    /// <summary>All uploads at once (streams read in order): the form of a caller that has them all in hand.</summary>
    public async Task<Job> SubmitAsync(JobSubmission submission, CancellationToken ct)
    {
        await using var session = Begin();
        await session.SaveAsync(UploadKind.Model, submission.Model, ct);
        if (submission.Labels is not null) await session.SaveAsync(UploadKind.Labels, submission.Labels, ct);
        if (submission.Calibration is not null) await session.SaveAsync(UploadKind.Calibration, submission.Calibration, ct);
        if (submission.Evaluation is not null) await session.SaveAsync(UploadKind.Evaluation, submission.Evaluation, ct);
        return await CompleteAsync(session, submission.OptionsJson, submission.ModelFileName, submission.Owner, ct);
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
        if (info.QuantizableLayers is { } known && options.Layers is { Count: > 0 } layers)
        {
            errors.AddRange(DSConvQuantizer.UnknownLayerErrors(layers.Keys, known.ToList()));
        }
        if (errors.Count > 0)
        {
            throw new InvalidOptionsException(errors);
        }
    }
}

/// <summary>The uploads of one submission in progress; disposing it without a committed job deletes them.</summary>
public sealed class UploadSession(IBlobStore blobs, string jobId, long maxBytes) : IAsyncDisposable
{
    private readonly Dictionary<UploadKind, StoredBlob> _saved = [];

    public string JobId { get; } = jobId;

    internal bool Committed { get; set; }

    public bool Has(UploadKind kind) => _saved.ContainsKey(kind);

    public StoredBlob? Saved(UploadKind kind) => _saved.GetValueOrDefault(kind);

    /// <summary>Streams one upload to its place (temp file, then rename), refusing more than the upload limit.</summary>
    public async Task<StoredBlob> SaveAsync(UploadKind kind, Stream content, CancellationToken ct)
    {
        var stored = await blobs.WriteAsync(JobId, kind.ToBlobKind(), content, maxBytes, ct);
        _saved[kind] = stored;
        return stored;
    }

    public async ValueTask DisposeAsync()
    {
        if (!Committed)
        {
            try
            {
                await blobs.DeleteJobAsync(JobId, CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or System.Data.Common.DbException or InvalidOperationException)
            {
                // The sweeper removes what cannot be deleted now.
            }
        }
    }
}
