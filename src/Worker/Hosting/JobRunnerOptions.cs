namespace DSConvService.Worker.Hosting;

/// <summary>How workers take and keep jobs (section "Jobs").</summary>
public sealed class JobRunnerOptions
{
    public const string Section = "Jobs";

    /// <summary>Where jobs are kept: "sqlite" (the data directory's jobs.db) or "postgres" (ConnectionStrings:Postgres).</summary>
    public string Store { get; set; } = "sqlite";

    /// <summary>ConnectionStrings:Postgres, copied here so that it is validated with the rest.</summary>
    public string? PostgresConnectionString { get; set; }

    public bool UsesPostgres => string.Equals(Store, "postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>Run a worker in this process (the Api sets this false when workers run elsewhere).</summary>
    public bool RunWorker { get; set; } = true;

    /// <summary>Jobs this process runs at the same time.</summary>
    public int Concurrency { get; set; } = 1;

    /// <summary>A running job whose worker has not heartbeated for this long may be taken by another worker.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a running job renews its lease; must be well below <see cref="LeaseDuration"/>.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle worker waits before looking for work again.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A job is tried at most this many times (lease expiries included), then fails with the reason.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>First wait before a job that failed for a reason not its input's is tried again; doubles per attempt (at most 5 minutes).</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How much this process may grow while it runs a job before the job is stopped and failed (0 = no budget).</summary>
    public long MaxJobMemoryBytes { get; set; } = 8L * 1024 * 1024 * 1024;

    /// <summary>This worker's name in leases and logs (default: host name and process id).</summary>
    public string? WorkerName { get; set; }

    /// <summary>Inference threads used by evaluation and latency measurement (0 = all cores).</summary>
    public int Threads { get; set; }

    /// <summary>Evaluation images used at most (the rest of a large zip is ignored).</summary>
    public int MaxEvaluationImages { get; set; } = 2000;

    /// <summary>Calibration images used at most.</summary>
    public int MaxCalibrationImages { get; set; } = 256;

    /// <summary>Seeded synthetic inputs for fidelity when no images are given.</summary>
    public int SyntheticSamples { get; set; } = 16;

    /// <summary>Runs timed per model for the latency figures (after one warm-up run).</summary>
    public int LatencyRuns { get; set; } = 10;

    public IEnumerable<string> Validate()
    {
        if (!UsesPostgres && !string.Equals(Store, "sqlite", StringComparison.OrdinalIgnoreCase))
            yield return $"Jobs:Store must be \"sqlite\" or \"postgres\" (got \"{Store}\").";
        if (UsesPostgres && PostgresConnectionErrors() is { } error) yield return error;
        if (Concurrency is < 1 or > 64) yield return "Jobs:Concurrency must be between 1 and 64.";
        if (LeaseDuration < TimeSpan.FromSeconds(1)) yield return "Jobs:LeaseDuration must be at least 1 second.";
        if (HeartbeatInterval <= TimeSpan.Zero || HeartbeatInterval * 2 > LeaseDuration)
            yield return "Jobs:HeartbeatInterval must be positive and at most half of Jobs:LeaseDuration.";
        if (PollInterval <= TimeSpan.Zero) yield return "Jobs:PollInterval must be positive.";
        if (MaxAttempts < 1) yield return "Jobs:MaxAttempts must be at least 1.";
        if (RetryBackoff < TimeSpan.Zero) yield return "Jobs:RetryBackoff must not be negative.";
        if (MaxJobMemoryBytes is < 0 or (> 0 and < 16 * 1024 * 1024)) yield return "Jobs:MaxJobMemoryBytes must be 0 (no budget) or at least 16777216 (16 MiB).";
        if (WorkerName is { } name && (name.Length is 0 or > 100)) yield return "Jobs:WorkerName must be 1 to 100 characters.";
        if (Threads < 0) yield return "Jobs:Threads must be 0 (all cores) or more.";
        if (MaxEvaluationImages < 1 || MaxCalibrationImages < 1 || SyntheticSamples < 1 || LatencyRuns < 1)
            yield return "Jobs:MaxEvaluationImages, MaxCalibrationImages, SyntheticSamples and LatencyRuns must be at least 1.";
    }

    private string? PostgresConnectionErrors()
    {
        if (string.IsNullOrWhiteSpace(PostgresConnectionString))
        {
            return "Jobs:Store is \"postgres\" but ConnectionStrings:Postgres is not set.";
        }
        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"ConnectionStrings:Postgres is not a valid connection string ({e.Message}).";
        }
    }
}
