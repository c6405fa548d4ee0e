namespace DSConvService.Core.Datasets;

/// <summary>Bounds on a dataset zip: entries in its directory and bytes it may expand to (counted while decompressing).</summary>
public sealed record DatasetLimits(int MaxZipEntries, long MaxZipExpandedBytes)
{
    public static readonly DatasetLimits Default = new(20_000, 1024L * 1024 * 1024);
}
