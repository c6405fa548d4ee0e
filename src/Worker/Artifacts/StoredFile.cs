namespace DSConvService.Worker.Artifacts;

/// <summary>A file written to the store: where it is, its size and its SHA-256 (lower-case hex).</summary>
public sealed record StoredFile(string Path, long Bytes, string Sha256);
