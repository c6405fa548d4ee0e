using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace DSConvService.Core.Threading;

/// <summary>
/// A cheaper fork-join than Parallel.For for the executor's short loops: persistent helper threads
/// (one fewer than the cores) wait on an event; the caller publishes a job, wakes them and works too.
/// Chunks are claimed with an atomic counter, so the caller finishes the job alone when a helper is
/// slow to wake (a loaded machine) and only waits for chunks already started. One job at a time:
/// <see cref="TryRun"/> returns false when the pool is busy (concurrent sessions, nested loops).
/// On Linux each helper is pinned to a CPU other than the caller's (<see cref="PlaceHelpers"/>).
/// </summary>
internal sealed class ForkJoinPool
{
    private static readonly Lazy<ForkJoinPool> Instance = new(() => new ForkJoinPool(Math.Max(1, Environment.ProcessorCount - 1)));

    private readonly ManualResetEventSlim[] _wake;
    private readonly ManualResetEventSlim _done = new(false);
    private Job? _job;
    private int _generation;
    private int _busy;

    private readonly int[] _helperThreadIds;
    private readonly int[] _helperCpus;
    private readonly int[] _allowedCpus = ThreadPlacement.AllowedCpus();
    private int _placedForCpu = -1;

    /// <summary>Whether helpers are pinned away from the caller's CPU (on by default; DSCONV_PIN_HELPERS=0 turns it off).</summary>
    public static bool PinHelpers { get; set; } = Environment.GetEnvironmentVariable("DSCONV_PIN_HELPERS") != "0";

    /// <summary>How often helpers were pinned to another CPU (tests and benchmarks).</summary>
    public static long Placements => Interlocked.Read(ref _placements);

    private static long _placements;

    /// <summary>
    /// How long a helper (and the caller, for the last chunks) spins before sleeping on its event. An inference
    /// runs dozens of short loops back to back; waking a sleeping thread costs tens of microseconds each time.
    /// </summary>
    private static long SpinTicks => Volatile.Read(ref _spinTicks);

    private static long _spinTicks = Stopwatch.Frequency / 5000;

    /// <summary>The spin before sleeping, in microseconds (200 by default; a knob for benchmarks).</summary>
    public static int SpinMicroseconds
    {
        get => (int)(SpinTicks * 1_000_000 / Stopwatch.Frequency);
        set => Volatile.Write(ref _spinTicks, Stopwatch.Frequency * Math.Max(0, value) / 1_000_000);
    }

    private ForkJoinPool(int helpers)
    {
        _wake = new ManualResetEventSlim[helpers];
        _helperThreadIds = new int[helpers];
        _helperCpus = new int[helpers];
        for (var i = 0; i < helpers; i++)
        {
            _wake[i] = new ManualResetEventSlim(false);
            _helperCpus[i] = -1;
            var wake = _wake[i];
            var index = i;
            new Thread(() =>
            {
                Volatile.Write(ref _helperThreadIds[index], ThreadPlacement.CurrentThreadId());
                HelperLoop(wake);
            }) { IsBackground = true, Name = $"CpuParallel helper {i}" }.Start();
        }
    }

    public static ForkJoinPool Shared => Instance.Value;

    /// <summary>Runs body over the <paramref name="parts"/> chunks of [0, count); false (nothing run) when busy.</summary>
    public bool TryRun(int count, int parts, Action<int, int> body)
    {
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            return false;
        }
        try
        {
            PlaceHelpers(Math.Min(_wake.Length, parts - 1));
            var job = new Job(body, count, parts);
            _done.Reset();
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            for (var i = 0; i < Math.Min(_wake.Length, parts - 1); i++)
            {
                _wake[i].Set();
            }
            job.Work(_done);
            // A stale Set from an earlier job may wake this wait early: the counter decides.
            var end = Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref job.Completed) != parts && Stopwatch.GetTimestamp() < end)
            {
                Thread.SpinWait(16);
            }
            while (Volatile.Read(ref job.Completed) != parts)
            {
                _done.Wait();
                _done.Reset();
            }
            Volatile.Write(ref _job, null);
            if (job.Error is { } e)
            {
                ExceptionDispatchInfo.Throw(e);
            }
            return true;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Pins the first <paramref name="helpers"/> helpers to CPUs other than the caller's, again whenever the caller
    /// has moved. Some VM kernels pack threads onto few virtual CPUs: a helper woken by the caller is put on the
    /// caller's CPU and stays there, so the two share one CPU while the other idles, and a batch-1 run takes its
    /// one-thread time or longer (on this project's 2-vCPU VMs, in about half the jobs after an idle gap). Costs one
    /// sched_getcpu per job and a sched_setaffinity only when the placement changes.
    /// </summary>
    private void PlaceHelpers(int helpers)
    {
        if (_allowedCpus.Length < 2 || helpers == 0)
        {
            return;
        }
        if (!PinHelpers)
        {
            Unpin();
            return;
        }
        var cpu = ThreadPlacement.CurrentCpu();
        if (cpu < 0 || cpu == _placedForCpu)
        {
            return;
        }
        var targets = HelperCpus(_allowedCpus, cpu, _helperCpus.Length);
        var placedAll = true;
        for (var i = 0; i < _helperCpus.Length; i++)
        {
            var target = targets[i];
            if (_helperCpus[i] == target)
            {
                continue;
            }
            var tid = Volatile.Read(ref _helperThreadIds[i]);
            if (tid != 0 && ThreadPlacement.Pin(tid, target))
            {
                _helperCpus[i] = target;
                Interlocked.Increment(ref _placements);
            }
            else
            {
                placedAll = false;
            }
        }
        // A helper not started yet (or refused) is tried again at the next job.
        _placedForCpu = placedAll ? cpu : -1;
    }

    /// <summary>
    /// The CPU of each of <paramref name="helpers"/> helpers: those after the caller's in the allowed set, wrapping, never the
    /// caller's own (while there is another). Where the process may use many CPUs but runs few threads (a container's CPU
    /// quota on a large host), helpers then follow their own caller instead of all landing on the first CPUs.
    /// </summary>
    internal static int[] HelperCpus(int[] allowed, int callerCpu, int helpers)
    {
        var at = Array.IndexOf(allowed, callerCpu);
        var others = at < 0 ? allowed : allowed[(at + 1)..].Concat(allowed[..at]).ToArray();
        return Enumerable.Range(0, helpers).Select(i => others[i % others.Length]).ToArray();
    }

    /// <summary>Gives pinned helpers back every CPU the process had at start.</summary>
    private void Unpin()
    {
        for (var i = 0; i < _helperCpus.Length; i++)
        {
            if (_helperCpus[i] >= 0 && ThreadPlacement.Allow(Volatile.Read(ref _helperThreadIds[i]), _allowedCpus))
            {
                _helperCpus[i] = -1;
            }
        }
        _placedForCpu = -1;
    }

    private void HelperLoop(ManualResetEventSlim wake)
    {
        var seen = 0;
        while (true)
        {
            var end = Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _generation) == seen && Stopwatch.GetTimestamp() < end)
            {
                Thread.SpinWait(16);
            }
            if (Volatile.Read(ref _generation) == seen)
            {
                wake.Wait();
            }
            wake.Reset();
            seen = Volatile.Read(ref _generation);
            // Read after the reset: a job published meanwhile is seen here or wakes us again.
            Volatile.Read(ref _job)?.Work(_done);
        }
    }

    private sealed class Job(Action<int, int> body, int count, int parts)
    {
        private int _next;
        public int Completed;
        public Exception? Error;

        public void Work(ManualResetEventSlim done)
        {
            int p;
            while ((p = Interlocked.Increment(ref _next) - 1) < parts)
            {
                try
                {
                    var (start, end) = CpuParallel.Chunk(count, parts, p);
                    body(start, end);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref Error, e, null);
                }
                if (Interlocked.Increment(ref Completed) == parts)
                {
                    done.Set();
                }
            }
        }
    }
}
