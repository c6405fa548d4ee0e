namespace DSConvService.Worker.Hosting;

/// <summary>Where the service keeps its database, uploads, artifacts and reports (section "Storage").</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>Data directory; relative paths are taken from the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    public string FullDataDirectory => Path.GetFullPath(DataDirectory);

    public string DatabasePath => Path.Combine(FullDataDirectory, "jobs.db");
}
