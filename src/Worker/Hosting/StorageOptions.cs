namespace DSConvService.Worker.Hosting;

/// <summary>Where the service keeps its database, uploads, artifacts and reports (section "Storage").</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>Data directory; relative paths are taken from the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    public string FullDataDirectory => Path.GetFullPath(DataDirectory);

    public string DatabasePath => Path.Combine(FullDataDirectory, "jobs.db");

    /// <summary>Where uploads, artifacts and reports live: "filesystem" (the data directory) or "postgres" (ConnectionStrings:Postgres).</summary>
    public string Blobs { get; set; } = "filesystem";

    /// <summary>ConnectionStrings:Postgres, copied here so that it is validated with the rest.</summary>
    public string? PostgresConnectionString { get; set; }

    public bool UsesPostgresBlobs => string.Equals(Blobs, "postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>How often the sweeper looks for files without a job and stale temp files (it also runs at start).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Files younger than this are never swept (a submission may still be uploading them).</summary>
    public TimeSpan OrphanGracePeriod { get; set; } = TimeSpan.FromHours(1);

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory)) yield return "Storage:DataDirectory must be set.";
        if (!UsesPostgresBlobs && !string.Equals(Blobs, "filesystem", StringComparison.OrdinalIgnoreCase))
            yield return $"Storage:Blobs must be \"filesystem\" or \"postgres\" (got \"{Blobs}\").";
        if (UsesPostgresBlobs && string.IsNullOrWhiteSpace(PostgresConnectionString))
            yield return "Storage:Blobs is \"postgres\" but ConnectionStrings:Postgres is not set.";
        if (SweepInterval < TimeSpan.FromSeconds(1)) yield return "Storage:SweepInterval must be at least 1 second.";
        if (OrphanGracePeriod < TimeSpan.Zero) yield return "Storage:OrphanGracePeriod must not be negative.";
    }
}
