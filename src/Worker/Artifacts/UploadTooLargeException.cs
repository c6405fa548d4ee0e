namespace DSConvService.Worker.Artifacts;

/// <summary>An upload went over its configured byte limit.</summary>
public sealed class UploadTooLargeException(string message) : Exception(message);
