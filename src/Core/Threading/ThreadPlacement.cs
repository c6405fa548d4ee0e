using System.Runtime.InteropServices;

namespace DSConvService.Core.Threading;

/// <summary>
/// Which CPU a thread runs on and where it may run, through the Linux C library (sched_getcpu, gettid,
/// sched_getaffinity, sched_setaffinity); elsewhere, or without those exports, <see cref="Supported"/> is false and
/// every call does nothing. Used by <see cref="ForkJoinPool"/> to keep its helpers off the caller's CPU.
/// </summary>
internal static unsafe class ThreadPlacement
{
    /// <summary>Room for 1024 CPUs, the size of glibc's cpu_set_t.</summary>
    private const int MaskWords = 16;

    private static readonly Functions? Libc = Load();

    /// <summary>True on Linux with a C library that has the four calls.</summary>
    public static bool Supported => Libc is not null;

    /// <summary>The CPU the calling thread runs on now, or −1.</summary>
    public static int CurrentCpu() => Libc is { } f ? f.GetCpu() : -1;

    /// <summary>The kernel's id of the calling thread (what <see cref="Pin"/> takes), or 0.</summary>
    public static int CurrentThreadId() => Libc is { } f ? f.GetTid() : 0;

    /// <summary>The CPUs the calling thread may run on, ascending (empty when unknown).</summary>
    public static int[] AllowedCpus() => AllowedCpus(0);

    /// <summary>Restricts thread <paramref name="threadId"/> to <paramref name="cpu"/>; false when the system refused.</summary>
    public static bool Pin(int threadId, int cpu) => Allow(threadId, [cpu]);

    /// <summary>Lets thread <paramref name="threadId"/> run on <paramref name="cpus"/> only; false when the system refused.</summary>
    public static bool Allow(int threadId, ReadOnlySpan<int> cpus)
    {
        if (Libc is not { } f || threadId == 0 || cpus.IsEmpty)
        {
            return false;
        }
        var mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        foreach (var cpu in cpus)
        {
            if (cpu < 0 || cpu >= MaskWords * 64)
            {
                return false;
            }
            mask[cpu / 64] |= 1UL << (cpu % 64);
        }
        return f.SetAffinity(threadId, MaskWords * sizeof(ulong), mask) == 0;
    }

    /// <summary>The CPUs thread <paramref name="threadId"/> may run on, ascending (empty when unknown).</summary>
    public static int[] AllowedCpus(int threadId)
    {
        if (Libc is not { } f)
        {
            return [];
        }
        var mask = stackalloc ulong[MaskWords];
        if (f.GetAffinity(threadId, MaskWords * sizeof(ulong), mask) != 0)
        {
            return [];
        }
        var cpus = new List<int>();
        for (var cpu = 0; cpu < MaskWords * 64; cpu++)
        {
            if ((mask[cpu / 64] >> (cpu % 64) & 1) != 0)
            {
                cpus.Add(cpu);
            }
        }
        return cpus.ToArray();
    }

    private static Functions? Load()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        foreach (var name in new[] { "libc.so.6", "libc" })
        {
            if (NativeLibrary.TryLoad(name, out var handle)
                && NativeLibrary.TryGetExport(handle, "sched_getcpu", out var getCpu)
                && NativeLibrary.TryGetExport(handle, "gettid", out var getTid)
                && NativeLibrary.TryGetExport(handle, "sched_getaffinity", out var getAffinity)
                && NativeLibrary.TryGetExport(handle, "sched_setaffinity", out var setAffinity))
            {
                return new Functions(
                    (delegate* unmanaged[SuppressGCTransition]<int>)getCpu,
                    (delegate* unmanaged[SuppressGCTransition]<int>)getTid,
                    (delegate* unmanaged<int, nuint, ulong*, int>)getAffinity,
                    (delegate* unmanaged<int, nuint, ulong*, int>)setAffinity);
            }
        }
        return null;
    }

    private sealed class Functions(
        delegate* unmanaged[SuppressGCTransition]<int> getCpu,
        delegate* unmanaged[SuppressGCTransition]<int> getTid,
        delegate* unmanaged<int, nuint, ulong*, int> getAffinity,
        delegate* unmanaged<int, nuint, ulong*, int> setAffinity)
    {
        public int GetCpu() => getCpu();

        public int GetTid() => getTid();

        public int GetAffinity(int tid, nuint bytes, ulong* mask) => getAffinity(tid, bytes, mask);

        public int SetAffinity(int tid, nuint bytes, ulong* mask) => setAffinity(tid, bytes, mask);
    }
}
