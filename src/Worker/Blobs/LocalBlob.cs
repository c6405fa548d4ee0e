namespace DSConvService.Worker.Blobs;

/// <summary>A blob available as a local file for as long as this object lives; a spooled copy is deleted on dispose.</summary>
public sealed class LocalBlob(string path, bool deleteOnDispose) : IDisposable
{
    public string Path { get; } = path;

    public void Dispose()
    {
        if (!deleteOnDispose)
        {
            return;
        }
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // the sweeper removes stale spool files
        }
    }
}
