namespace DSConvService.Worker.Jobs;

/// <summary>Where a job is in its life. The numbers are stored in the database: never renumber.</summary>
public enum JobStatus
{
    Queued = 0,
    Running = 1,
    Succeeded = 2,
    Failed = 3,
    Cancelled = 4,
}

public static class JobStatusExtensions
{
    public static bool IsFinished(this JobStatus status) => status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled;

    /// <summary>The lower-case name used in the API ("queued", "running", ...).</summary>
    public static string ToApiName(this JobStatus status) => status.ToString().ToLowerInvariant();
}
