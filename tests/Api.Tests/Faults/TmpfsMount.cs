using System.Diagnostics;
using Xunit;

namespace DSConvService.Api.Tests.Faults;

/// <summary>
/// A small real tmpfs (mount -t tmpfs -o size=…): a disk that fills up for real. Needs root (CI runs as
/// root); the test is skipped with the reason otherwise. Filling and freeing it are plain file writes.
/// </summary>
internal sealed class TmpfsMount : IDisposable
{
    private readonly string _filler;

    private TmpfsMount(string path)
    {
        Path = path;
        _filler = System.IO.Path.Combine(path, "filler.bin");
    }

    public string Path { get; }

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MiB, or skips the test saying why it cannot.</summary>
    /// <param name="at">Mount point (created if needed); a fresh temp folder by default.</param>
    public static TmpfsMount Create(int megabytes, string? owner = null, string? at = null)
    {
        var path = at ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"dsconv-tmpfs-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path, recursive: true);
            Skip.If(true, $"A tmpfs cannot be mounted here (mount -t tmpfs needs root: {output.Trim()}); the full-disk test needs a real small file system.");
        }
        if (owner is not null)
        {
            Run("chown", owner, path);
        }
        return new TmpfsMount(path);
    }

    /// <summary>Writes a filler file until the file system says it is full; returns the bytes written.</summary>
    public long Fill()
    {
        var chunk = new byte[1 << 20];
        long written = 0;
        try
        {
            using var file = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.None, 1);
            while (true)
            {
                file.Write(chunk);
                written += chunk.Length;
            }
        }
        catch (IOException)
        {
            // ENOSPC: full. Top up with small writes until not even 4 KiB is left.
            try
            {
                using var file = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.None, 1);
                var small = new byte[4096];
                while (true)
                {
                    file.Write(small);
                    written += small.Length;
                }
            }
            catch (IOException)
            {
            }
        }
        return written;
    }

    /// <summary>Frees the space the filler took.</summary>
    public void Free() => File.Delete(_filler);

    public long FreeBytes => new DriveInfo(Path).AvailableFreeSpace;

    public void Dispose()
    {
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A folder on the tmpfs owned by <paramref name="owner"/> (e.g. for a PostgreSQL tablespace).</summary>
    public string Folder(string name, string owner)
    {
        var path = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(path);
        Run("chown", owner, path);
        return path;
    }

    private static (int Code, string Output) Run(string file, params string[] args)
    {
        try
        {
            var info = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }
            using var p = Process.Start(info)!;
            var output = p.StandardError.ReadToEnd() + p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }
}
