namespace DSConvService.Core.Datasets;

/// <summary>What a dataset zip holds: image count and, for ImageFolder sets, the class folders with their indices.</summary>
public sealed record DatasetSummary(int Images, IReadOnlyDictionary<string, int> Classes);
