namespace DSConvService.Worker.Artifacts;

/// <summary>The client's upload stream broke off or was malformed while it was being stored.</summary>
public sealed class UploadReadException(string message, Exception inner) : Exception(message, inner);
