using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Api.Tests.Faults;

/// <summary>
/// N jobs over M worker processes while processes are killed with SIGKILL at random moments (seeded;
/// DSCONV_FAULT_SEED repeats a run), then the checks: every job succeeded, exactly one attempt finished
/// each job (its attempt count against its attempt log in the database), never two success lines in the
/// workers' logs, artifacts match their SHA-256, /infer under 8 concurrent clients answers every request,
/// and once the jobs are deleted nothing of them is left.
/// </summary>
internal sealed class FaultScenario(ServiceCluster cluster, ITestOutputHelper output)
{
    public const int Jobs = 8;
    public const int InferClients = 8;
    public const int InferRequestsPerClient = 25;

    private readonly Random _random = new(Seed);
    private readonly List<string> _events = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private static int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("DSCONV_FAULT_SEED"), out var s) ? s : Random.Shared.Next();

    /// <summary>Extra fault while jobs run (the database restart on PostgreSQL).</summary>
    public Func<Task>? MidJobFault { get; init; }

    public async Task<List<JobResponse>> RunJobsUnderKillsAsync()
    {
        output.WriteLine($"seed {Seed}; {Jobs} jobs ({FaultJobs.Kind}) over {cluster.Workers.Count} worker processes");
        await cluster.StartAsync();
        var ids = new List<string>();
        // Jobs arrive in waves of two; each wave meets one fault while its jobs run.
        async Task<ServiceProcess?> WaveAsync()
        {
            var claims = cluster.Workers.Select(w => ServiceCluster.Count(w, "\"EventId\":2,")).ToList();
            for (var i = 0; i < Jobs / 4; i++)
            {
                ids.Add(await cluster.SubmitAsync(FaultJobs.Form()));
            }
            Note($"submitted jobs {ids.Count - Jobs / 4 + 1}-{ids.Count}");
            var claimer = await WaitForAClaimAsync(claims);
            await Task.Delay(_random.Next(50, 400));
            return claimer;
        }

        await KillAsync(await WaveAsync());
        await WaveAsync();
        await KillApiDuringAnUploadAsync();
        var third = await WaveAsync();
        if (MidJobFault is not null)
        {
            await MidJobFault();
            Note("database restarted");
        }
        else
        {
            await KillAsync(third);
        }
        await KillAsync(await WaveAsync());
        await Task.Delay(_random.Next(0, 400));
        cluster.Api.Kill();
        Note("kill -9 api");
        await cluster.StartApiAsync();
        Note("api restarted");

        var jobs = await cluster.WaitFinishedAsync(ids, TimeSpan.FromMinutes(4));
        Note("all jobs finished");
        foreach (var line in _events)
        {
            output.WriteLine(line);
        }
        foreach (var job in jobs)
        {
            output.WriteLine($"job {job.Id}: {job.Status}, {job.Attempts} attempt(s){(job.AttemptErrors.Count > 0 ? ": " + string.Join(" | ", job.AttemptErrors) : "")}");
        }
        output.WriteLine($"kills: api {cluster.Api.Kills}, " + string.Join(", ", cluster.Workers.Select(w => $"{w.Name} {w.Kills}")));
        foreach (var w in cluster.Workers)
        {
            int Events(int id) => ServiceCluster.Count(w, $"\"EventId\":{id},");
            var durations = w.LogLines().Where(l => l.Contains("\"EventId\":3,", StringComparison.Ordinal))
                .Select(l => System.Text.RegularExpressions.Regex.Match(l, "succeeded in ([0-9.]+) s").Groups[1].Value);
            output.WriteLine($"{w.Name}: {w.Starts} start(s), claims {Events(2)}, successes {Events(3)} ({string.Join(", ", durations)} s), " +
                             $"leases lost {Events(7)}, retried {Events(11)}, loop errors {Events(9)}, store retries {Events(12)}");
        }
        return jobs;
    }

    /// <summary>The checks after the jobs finished; <paramref name="leftovers"/> counts what the blob store still holds.</summary>
    public async Task CheckOutcomeAsync(List<JobResponse> jobs, Func<Task<long>> leftovers, IEnumerable<string> dataDirectories)
    {
        Assert.All(jobs, j => Assert.True(j.Status == "succeeded", $"job {j.Id} {j.Status}: {j.Error}"));

        // Exactly once, from the database: every attempt a job was claimed for and that did not finish it is in its
        // attempt log (lease expired, retried or failed), so attempts = logged attempts + 1 means one attempt, and one
        // only, finished it (the success commit is guarded by the lease, and a kill -9 cannot undo it).
        foreach (var job in jobs)
        {
            Assert.True(job.Attempts == job.AttemptErrors.Count + 1,
                $"job {job.Id}: {job.Attempts} attempt(s) but {job.AttemptErrors.Count} ended without finishing it: {string.Join(" | ", job.AttemptErrors)}");
        }
        // The logs can still show a second run: never two "Job succeeded" lines (event 3) for one job, each with its
        // worker's name. No line is not an error (a kill -9 between the commit and the log write loses it).
        var successes = cluster.Workers.SelectMany(w => ServiceCluster.ScopedEvents(w, 3).Select(e => (e.JobId, e.Worker, Process: w.Name))).ToList();
        foreach (var job in jobs)
        {
            var runs = successes.Where(s => s.JobId == job.Id).ToList();
            Assert.True(runs.Count <= 1, $"job {job.Id} succeeded {runs.Count} times: {string.Join(", ", runs.Select(r => r.Worker))}");
            if (runs.Count == 1)
            {
                Assert.StartsWith(runs[0].Process + ":", runs[0].Worker);
            }
        }
        output.WriteLine($"succeeded jobs without a success line (a kill between commit and log): {jobs.Count(j => successes.All(s => s.JobId != j.Id))}");
        output.WriteLine("successes per worker: " + string.Join(", ", successes.GroupBy(s => s.Process).Select(g => $"{g.Key} {g.Count()}")));

        foreach (var job in jobs)
        {
            var artifact = await cluster.Client.GetAsync($"/jobs/{job.Id}/artifact");
            Assert.Equal(HttpStatusCode.OK, artifact.StatusCode);
            Assert.Equal(job.ArtifactSha256, Convert.ToHexStringLower(SHA256.HashData(await artifact.Content.ReadAsByteArrayAsync())));
        }

        await InferUnderLoadAsync(jobs[0].Id);
        var metrics = await cluster.Client.GetStringAsync("/metrics");
        Assert.Contains("# TYPE", metrics);

        // A process killed while writing leaves its temp file; the sweeper (every second here, grace 5 s) removes it.
        var directories = dataDirectories.ToList();
        string[] TempFiles() => directories.SelectMany(cluster.FilesUnder).Where(f => f.EndsWith(".tmp", StringComparison.Ordinal)).ToArray();
        await ServiceCluster.WaitUntilAsync(() => Task.FromResult(TempFiles().Length == 0), TimeSpan.FromSeconds(30),
            () => "temp files are left: " + string.Join(", ", TempFiles()));
        foreach (var job in jobs)
        {
            Assert.Equal(HttpStatusCode.NoContent, (await cluster.Client.DeleteAsync($"/jobs/{job.Id}")).StatusCode);
        }
        // The killed submission's upload has no job: the sweeper takes it once its grace period has passed.
        await ServiceCluster.WaitUntilAsync(async () => await leftovers() == 0, TimeSpan.FromSeconds(30),
            () => "blobs are left after every job was deleted");
        output.WriteLine("after deleting every job: nothing left in the blob store, no temp files");
    }

    private async Task InferUnderLoadAsync(string jobId)
    {
        var image = FaultJobs.Image();
        var times = new List<double>();
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, InferClients).Select(async _ =>
        {
            for (var i = 0; i < InferRequestsPerClient; i++)
            {
                var start = Stopwatch.GetTimestamp();
                var response = await cluster.Client.PostAsync($"/infer?model={jobId}", TestInputs.File(image));
                var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                lock (times)
                {
                    times.Add(ms);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failures.Add($"{(int)response.StatusCode} {response.Content.ReadAsStringAsync().Result}");
                    }
                }
            }
        }));
        times.Sort();
        output.WriteLine($"/infer: {times.Count} requests from {InferClients} concurrent clients in {clock.Elapsed.TotalSeconds:F1} s, " +
                         $"p50 {times[times.Count / 2]:F1} ms, p99 {times[(int)(times.Count * 0.99)]:F1} ms, errors {failures.Count}");
        Assert.Empty(failures);
    }

    private async Task KillAsync(ServiceProcess? worker)
    {
        if (worker is null)
        {
            Note("no claim seen: no worker killed in this wave");
            return;
        }
        worker.Kill();
        Note($"kill -9 {worker.Name} (it had just claimed a job)");
        await Task.Delay(_random.Next(0, 1000));
        await cluster.StartWorkerAsync(worker);
        Note($"{worker.Name} restarted");
    }

    private async Task KillApiDuringAnUploadAsync()
    {
        var body = new SlowStream(64L << 20);
        var form = new MultipartFormDataContent { { new StreamContent(body), "model", "big.onnx" } };
        var upload = cluster.Client.PostAsync("/quantize", form);
        await ServiceCluster.WaitUntilAsync(() => Task.FromResult(body.Sent > 2 << 20), TimeSpan.FromSeconds(30), () => "the slow upload did not start");
        cluster.Api.Kill();
        Note($"kill -9 api during an upload ({body.Sent >> 20} MiB sent)");
        await Assert.ThrowsAnyAsync<Exception>(() => upload);
        await cluster.StartApiAsync();
        Note("api restarted");
    }

    /// <summary>Waits until a worker logs a claim (event 2) beyond the counts given; returns that worker (null after 30 s).</summary>
    private async Task<ServiceProcess?> WaitForAClaimAsync(IReadOnlyList<int> claimsBefore)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            for (var i = 0; i < cluster.Workers.Count; i++)
            {
                if (ServiceCluster.Count(cluster.Workers[i], "\"EventId\":2,") > claimsBefore[i])
                {
                    return cluster.Workers[i];
                }
            }
            await Task.Delay(20);
        }
        return null;
    }

    private void Note(string what) => _events.Add($"{_clock.Elapsed.TotalSeconds,6:F1} s  {what}");
}
