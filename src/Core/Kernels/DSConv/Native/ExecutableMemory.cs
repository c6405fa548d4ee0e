using System.Runtime.InteropServices;

namespace DSConvService.Core.Kernels.DSConv.Native;

/// <summary>
/// Pages for machine code generated at run time, kept W^X: mapped read-write, filled, then switched to
/// read-execute before the first call, never writable and executable at once. Linux x64 only (mmap/mprotect of the
/// C library, found by its soname: a bare "libc" can resolve to the linker script of libc6-dev, or to nothing in a
/// runtime image); the pages live as long as the process, as the kernels they hold do.
/// </summary>
internal static unsafe class ExecutableMemory
{
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int ProtExec = 4;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;

    private static readonly Lazy<nint> Libc = new(() =>
    {
        foreach (var name in new[] { "libc.so.6", "libc" })
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                return handle;
            }
        }
        return 0;
    });

    /// <summary>True where <see cref="Publish"/> can work: Linux on x64.</summary>
    public static bool Supported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>Copies <paramref name="code"/> into fresh pages and makes them executable; the address of its first byte.</summary>
    /// <exception cref="InvalidOperationException">No C library, or the system refused the pages (e.g. a policy forbidding executable memory).</exception>
    public static nint Publish(ReadOnlySpan<byte> code)
    {
        if (!Supported)
        {
            throw new PlatformNotSupportedException("Run-time code needs Linux on x64.");
        }
        if (Libc.Value == 0
            || !NativeLibrary.TryGetExport(Libc.Value, "mmap", out var mmapAddress)
            || !NativeLibrary.TryGetExport(Libc.Value, "mprotect", out var mprotectAddress)
            || !NativeLibrary.TryGetExport(Libc.Value, "munmap", out var munmapAddress))
        {
            throw new InvalidOperationException("the C library (libc.so.6 with mmap and mprotect) was not found.");
        }
        var mmap = (delegate* unmanaged<nint, nuint, int, int, int, nint, nint>)mmapAddress;
        var mprotect = (delegate* unmanaged<nint, nuint, int, int>)mprotectAddress;
        var munmap = (delegate* unmanaged<nint, nuint, int>)munmapAddress;
        var size = (nuint)((code.Length + 4095) / 4096 * 4096);
        var p = mmap(0, size, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (p == -1 || p == 0)
        {
            throw new InvalidOperationException($"mmap of {size} bytes failed (errno {Marshal.GetLastSystemError()}).");
        }
        code.CopyTo(new Span<byte>((void*)p, code.Length));
        if (mprotect(p, size, ProtRead | ProtExec) != 0)
        {
            var errno = Marshal.GetLastSystemError();
            munmap(p, size);
            throw new InvalidOperationException($"mprotect to read-execute failed (errno {errno}).");
        }
        return p;
    }
}
