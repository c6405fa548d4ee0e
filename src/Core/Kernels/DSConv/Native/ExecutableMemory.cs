using System.Runtime.InteropServices;

namespace DSConvService.Core.Kernels.DSConv.Native;

/// <summary>
/// Pages for machine code generated at run time, kept W^X: mapped read-write, filled, then switched to
/// read-execute before the first call, never writable and executable at once. Linux x64 only (mmap/mprotect);
/// the pages live as long as the process, as the kernels they hold do.
/// </summary>
internal static unsafe partial class ExecutableMemory
{
    private const int ProtRead = 1;
    private const int ProtWrite = 2;
    private const int ProtExec = 4;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;

    /// <summary>True where <see cref="Publish"/> can work: Linux on x64.</summary>
    public static bool Supported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    /// <summary>Copies <paramref name="code"/> into fresh pages and makes them executable; the address of its first byte.</summary>
    /// <exception cref="InvalidOperationException">The system refused the pages (e.g. a policy forbidding executable memory).</exception>
    public static nint Publish(ReadOnlySpan<byte> code)
    {
        if (!Supported)
        {
            throw new PlatformNotSupportedException("Run-time code needs Linux on x64.");
        }
        var size = (nuint)((code.Length + 4095) / 4096 * 4096);
        var p = Mmap(0, size, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (p == -1 || p == 0)
        {
            throw new InvalidOperationException($"mmap of {size} bytes failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        code.CopyTo(new Span<byte>((void*)p, code.Length));
        if (Mprotect(p, size, ProtRead | ProtExec) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Munmap(p, size);
            throw new InvalidOperationException($"mprotect to read-execute failed (errno {errno}).");
        }
        return p;
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint addr, nuint length);
}
