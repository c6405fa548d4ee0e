namespace DSConvService.Worker.Artifacts;

/// <summary>
/// A ballast file of <see cref="Bytes"/> next to the SQLite database. When the disk is full even a
/// DELETE needs room for the database's log; giving the ballast back makes that room, so deleting
/// finished jobs always works and frees space. It is put back at start and by each sweep once the
/// disk has room again. Not used when the database lives elsewhere (PostgreSQL).
/// </summary>
public sealed class DiskReserve(string path, bool enabled)
{
    public const long Bytes = 1 << 20;

    public const string FileName = "space.reserve";

    public string Path { get; } = path;

    /// <summary>Creates the ballast if it is missing (quietly does nothing when there is no room for it yet).</summary>
    public void Ensure()
    {
        if (!enabled || File.Exists(Path))
        {
            return;
        }
        var temp = Path + FileStore.TempSuffix;
        try
        {
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                // Written, not just sized: a sparse file would reserve nothing.
                var block = new byte[1 << 16];
                for (long written = 0; written < Bytes; written += block.Length)
                {
                    file.Write(block);
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, Path, overwrite: true);
        }
        catch (IOException)
        {
            File.Delete(temp);
        }
    }

    /// <summary>Deletes the ballast; true when there was one to give back.</summary>
    public bool Release()
    {
        if (!enabled || !File.Exists(Path))
        {
            return false;
        }
        File.Delete(Path);
        return true;
    }
}
