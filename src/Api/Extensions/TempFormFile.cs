namespace DSConvService.Api.Extensions;

/// <summary>
/// An uploaded form file copied to a file of its own (streamed, never whole in memory), deleted on
/// dispose, so a model can be read structurally from disk instead of from an array of its bytes.
/// </summary>
public sealed class TempFormFile : IDisposable
{
    private TempFormFile(string path) => Path = path;

    public string Path { get; }

    public static async Task<TempFormFile> SaveAsync(IFormFile file, CancellationToken ct)
    {
        var saved = new TempFormFile(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"dsconv-upload-{Guid.NewGuid():N}.onnx"));
        try
        {
            await using var target = new FileStream(saved.Path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await file.CopyToAsync(target, ct);
            return saved;
        }
        catch
        {
            saved.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
        }
    }
}
