using System.Diagnostics;
using DSConvService.Core.Execution;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// Fork-join for the GEMM driver: part 0 runs on the caller, the other parts on dedicated background
/// workers that keep spinning for a millisecond after each job before they sleep. Back-to-back
/// layers then never wait for a thread wake-up, and a busy machine does not take the core away between
/// layers (ONNX Runtime spins the same way). One fork-join at a time: a concurrent or nested caller
/// falls back to <see cref="CpuParallel"/>.
/// </summary>
internal static class GemmThreads
{
    /// <summary>How long an idle worker spins before it blocks (1 ms: covers the other ops between two convolutions).</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 1000;

    private static readonly Lazy<Worker[]> Workers = new(() =>
        Enumerable.Range(0, Math.Clamp(Environment.ProcessorCount - 1, 1, 63)).Select(i => new Worker(i)).ToArray());

    private static int _busy;

    /// <summary>DSCONV_GEMM_THREADS=pool makes the GEMM use the shared thread pool (<see cref="CpuParallel"/>) instead.</summary>
    private static readonly bool UsePool = Environment.GetEnvironmentVariable("DSCONV_GEMM_THREADS") == "pool";

    /// <summary>Runs body(start, end) over [0, count) in at most <paramref name="threads"/> contiguous parts, like <see cref="CpuParallel.For"/>.</summary>
    public static void For(int count, int threads, Action<int, int> body)
    {
        var parts = Math.Min(Math.Max(threads, 1), count);
        if (parts <= 1)
        {
            if (count > 0)
            {
                body(0, count);
            }
            return;
        }
        if (UsePool)
        {
            CpuParallel.For(count, threads, body);
            return;
        }
        var workers = Workers.Value;
        if (parts - 1 > workers.Length || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            CpuParallel.For(count, threads, body);
            return;
        }
        try
        {
            var job = new Job(body, count, parts);
            for (var p = 1; p < parts; p++)
            {
                workers[p - 1].Post(job, p);
            }
            job.RunPart(0);
            job.WaitForOthers();
            if (job.Error is { } e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private sealed class Job(Action<int, int> body, int count, int parts)
    {
        private int _pending = parts - 1;
        private Exception? _error;

        public Exception? Error => Volatile.Read(ref _error);

        public void RunPart(int p)
        {
            try
            {
                body((int)((long)count * p / parts), (int)((long)count * (p + 1) / parts));
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
        }

        public void PartDone() => Interlocked.Decrement(ref _pending);

        public void WaitForOthers()
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) > 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    private sealed class Worker
    {
        private readonly ManualResetEventSlim _wake = new(false, 0);
        private Job? _job;
        private int _part;

        public Worker(int index)
        {
            new Thread(Loop) { IsBackground = true, Name = $"gemm-worker-{index}" }.Start();
        }

        public void Post(Job job, int part)
        {
            _part = part;
            Volatile.Write(ref _job, job);
            _wake.Set();
        }

        private void Loop()
        {
            while (true)
            {
                var job = NextJob();
                job.RunPart(_part);
                // Cleared before the caller can see the part done, so its next Post is never lost.
                Volatile.Write(ref _job, null);
                job.PartDone();
            }
        }

        private Job NextJob()
        {
            var start = Stopwatch.GetTimestamp();
            while (true)
            {
                if (Volatile.Read(ref _job) is { } job)
                {
                    return job;
                }
                if (Stopwatch.GetTimestamp() - start < SpinTicks)
                {
                    Thread.SpinWait(20);
                    continue;
                }
                _wake.Reset();
                if (Volatile.Read(ref _job) is null)
                {
                    _wake.Wait();
                }
                start = Stopwatch.GetTimestamp();
            }
        }
    }
}
