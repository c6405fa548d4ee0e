namespace DSConvService.Worker.Pipeline;

/// <summary>Where the pipeline says what it is doing; cheap to call often (writes are batched).</summary>
public interface IJobProgress
{
    /// <summary>Stage name and overall progress in [0, 1].</summary>
    void Report(string stage, double progress);
}

/// <summary>Maps a step's own 0..1 progress onto its slice [from, to] of the job's progress.</summary>
internal sealed class StageProgress(IJobProgress job, string stage, double from, double to) : IProgress<double>
{
    public void Report(double value) => job.Report(stage, from + (to - from) * Math.Clamp(value, 0, 1));

    public static StageProgress Start(IJobProgress job, string stage, double from, double to)
    {
        job.Report(stage, from);
        return new StageProgress(job, stage, from, to);
    }
}
