namespace DSConvService.Core.Datasets;

/// <summary>One encoded image from a dataset zip; <see cref="ClassIndex"/> is -1 when unlabelled.</summary>
public sealed record DatasetImage(string Name, byte[] Bytes, int ClassIndex);
