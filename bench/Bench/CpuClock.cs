using System.Runtime.InteropServices;

namespace DSConvService.Bench;

/// <summary>
/// CPU time of this process with nanosecond resolution (clock_gettime), for timing sub-millisecond
/// work on a machine loaded by other processes (Process.TotalProcessorTime ticks too coarsely).
/// </summary>
public static partial class CpuClock
{
    private const int ProcessCpuTime = 2;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>Process CPU time in ms (all threads).</summary>
    public static double ProcessMs()
    {
        ClockGetTime(ProcessCpuTime, out var t);
        return t.Seconds * 1e3 + t.Nanoseconds * 1e-6;
    }
}
