namespace DSConvService.Core.Datasets;

/// <summary>
/// Bounds on a dataset zip: entries in its directory, bytes it may expand to (counted while
/// decompressing) and bytes one image entry may expand to.
/// </summary>
public sealed record DatasetLimits(int MaxZipEntries, long MaxZipExpandedBytes, long MaxEntryBytes = DatasetLimits.DefaultMaxEntryBytes)
{
    public const long DefaultMaxEntryBytes = 20L * 1024 * 1024;

    public static readonly DatasetLimits Default = new(20_000, 1024L * 1024 * 1024);
}
