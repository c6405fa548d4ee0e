namespace DSConvService.Worker.Jobs;

/// <summary>
/// The source of truth for jobs. State moves only through the named transitions below; each is one
/// atomic statement guarded by the current state (and, for a running job, by the lease holder), so
/// several workers and API processes may share one store.
/// </summary>
public interface IJobStore
{
    /// <summary>Creates the schema if needed, or migrates it to the current version.</summary>
    Task InitializeAsync(CancellationToken ct = default);

    Task CreateAsync(Job job, CancellationToken ct = default);

    /// <summary>The job, or null when absent or (with an owner) owned by someone else.</summary>
    Task<Job?> GetAsync(string id, string? owner = null, CancellationToken ct = default);

    /// <summary>Jobs newest first; page counts from 1.</summary>
    Task<JobPage> ListAsync(int page, int pageSize, string? owner = null, CancellationToken ct = default);

    /// <summary>
    /// Queued → Running for the oldest queued job, or takes over a running job whose lease expired.
    /// Before that, running jobs with an expired lease that used all attempts become Failed.
    /// Returns the claimed job (Attempts already counts this attempt) or null when there is no work.
    /// </summary>
    Task<Job?> ClaimNextAsync(string workerId, TimeSpan lease, int maxAttempts, CancellationToken ct = default);

    /// <summary>Renews the lease. Tells whether the worker still holds it and whether cancellation was asked.</summary>
    Task<LeaseState> HeartbeatAsync(string id, string workerId, TimeSpan lease, CancellationToken ct = default);

    /// <summary>Reads (without writing) whether the worker still holds the lease and whether cancellation was asked.</summary>
    Task<LeaseState> CheckLeaseAsync(string id, string workerId, CancellationToken ct = default);

    /// <summary>
    /// After a fault that was not the input's (a bug, the disk, the database): records the reason and
    /// puts the job back in the queue, not to be claimed before <paramref name="delay"/> has passed;
    /// when the job already used <paramref name="maxAttempts"/> attempts it fails instead, with every attempt's reason.
    /// </summary>
    Task<RetryOutcome> RetryLaterAsync(string id, string workerId, string reason, TimeSpan delay, int maxAttempts, CancellationToken ct = default);

    /// <summary>Jobs per status (for metrics: queued is the queue depth).</summary>
    Task<IReadOnlyDictionary<JobStatus, long>> CountByStatusAsync(CancellationToken ct = default);

    /// <summary>Whether a job row with this id exists (any owner).</summary>
    Task<bool> ExistsAsync(string id, CancellationToken ct = default);

    /// <summary>Records the stage and progress (0..1) of a running job held by this worker.</summary>
    Task<LeaseState> UpdateProgressAsync(string id, string workerId, string stage, double progress, CancellationToken ct = default);

    Task<bool> MarkSucceededAsync(string id, string workerId, string reportJson, string artifactSha256, long artifactBytes, CancellationToken ct = default);

    Task<bool> MarkFailedAsync(string id, string workerId, string error, CancellationToken ct = default);

    /// <summary>Running → Cancelled, by the worker that holds the lease after it saw the request.</summary>
    Task<bool> MarkCancelledAsync(string id, string workerId, CancellationToken ct = default);

    /// <summary>
    /// Running → Queued when a worker shuts down gracefully mid-job; the attempt is not counted, so
    /// the next worker (or this one after a restart) starts it again at once.
    /// </summary>
    Task<bool> ReleaseAsync(string id, string workerId, CancellationToken ct = default);

    /// <summary>
    /// A client's cancel: a queued job becomes Cancelled at once; a running one is flagged and its worker
    /// cancels it at the next step. Returns the job after the change (null when absent / not the owner's).
    /// </summary>
    Task<Job?> RequestCancelAsync(string id, string? owner = null, CancellationToken ct = default);

    /// <summary>Deletes a finished job's row. Returns false when absent or not finished.</summary>
    Task<bool> DeleteAsync(string id, string? owner = null, CancellationToken ct = default);

    /// <summary>Throws when the database cannot be read and written.</summary>
    Task CheckHealthAsync(CancellationToken ct = default);
}

/// <summary>What <see cref="IJobStore.RetryLaterAsync"/> did.</summary>
public enum RetryOutcome
{
    Requeued,
    Failed,
    NotHeld,
}

/// <summary>What a running job's worker learns on each heartbeat or progress write.</summary>
public readonly record struct LeaseState(bool Held, bool CancelRequested);
