using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;

namespace DSConvService.Api.Tests.Faults;

/// <summary>
/// The Api (no in-process worker) and M standalone workers as separate processes, each with its data
/// directory (or one shared directory for the SQLite/filesystem flavour). Logs are JSON lines.
/// </summary>
internal sealed class ServiceCluster : IDisposable
{
    private readonly int _port = FreePort();

    public ServiceCluster(string root, IReadOnlyDictionary<string, string> shared, int workers, bool sharedDataDirectory)
    {
        Root = root;
        string DataDir(string name) => Directory.CreateDirectory(Path.Combine(root, sharedDataDirectory ? "shared" : name)).FullName;
        var common = new Dictionary<string, string>(shared)
        {
            ["Logging:Format"] = "json",
            ["Jobs:PollInterval"] = "00:00:00.100",
            ["Jobs:HeartbeatInterval"] = "00:00:00.500",
            ["Jobs:LeaseDuration"] = "00:00:03",
            ["Jobs:MaxAttempts"] = "10",
            ["Jobs:RetryBackoff"] = "00:00:00.500",
            ["Jobs:LatencyRuns"] = "3",
            ["Jobs:SyntheticSamples"] = "4",
            ["Jobs:Threads"] = "1",
        };
        var api = new Dictionary<string, string>(common)
        {
            ["urls"] = $"http://127.0.0.1:{_port}",
            ["Jobs:RunWorker"] = "false",
            ["Storage:DataDirectory"] = DataDir("api"),
            // Leftovers of a killed submission are swept a few seconds later, not after the default hour.
            ["Storage:SweepInterval"] = "00:00:01",
            ["Storage:OrphanGracePeriod"] = "00:00:05",
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        Api = new ServiceProcess("api", ServiceBinaries.ApiDll, api, Path.Combine(root, "api.log"), ServiceBinaries.ApiProjectDirectory);
        Workers = Enumerable.Range(1, workers).Select(i => new ServiceProcess($"worker-{i}", ServiceBinaries.WorkerDll,
            new Dictionary<string, string>(common)
            {
                ["Jobs:WorkerName"] = $"worker-{i}",
                ["Storage:DataDirectory"] = DataDir($"worker-{i}"),
            }, Path.Combine(root, $"worker-{i}.log"))).ToList();
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Root { get; }

    public ServiceProcess Api { get; }

    public IReadOnlyList<ServiceProcess> Workers { get; }

    public HttpClient Client { get; }

    public async Task StartAsync()
    {
        await StartApiAsync();
        foreach (var w in Workers)
        {
            await StartWorkerAsync(w);
        }
    }

    public async Task StartApiAsync()
    {
        Api.Start();
        await WaitUntilAsync(async () =>
        {
            if (!Api.Running)
            {
                throw new InvalidOperationException($"the Api exited at start: {Tail(Api)}");
            }
            try
            {
                return (await Client.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), () => $"the Api did not become ready: {Tail(Api)}");
    }

    public async Task StartWorkerAsync(ServiceProcess worker)
    {
        var before = Count(worker, "\"EventId\":1,");
        worker.Start();
        await WaitUntilAsync(() => Task.FromResult(worker.Running
                ? Count(worker, "\"EventId\":1,") > before
                : throw new InvalidOperationException($"{worker.Name} exited at start: {Tail(worker)}")), TimeSpan.FromSeconds(60),
            () => $"{worker.Name} did not start: {Tail(worker)}");
    }

    /// <summary>Log lines of a worker with a given event id (1 started, 2 claimed, 3 succeeded …).</summary>
    public static int Count(ServiceProcess process, string fragment) => process.LogLines().Count(l => l.Contains(fragment, StringComparison.Ordinal));

    // A kill -9 can cut the last line a process was writing (the pipe hands over what was flushed, e.g. 256 bytes of
    // it); that line is not an event.
    private static JsonDocument? TryParse(string line)
    {
        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The job id and worker name in the scope of each JSON log line with this event id.</summary>
    public static IEnumerable<(string JobId, string Worker)> ScopedEvents(ServiceProcess process, int eventId)
    {
        foreach (var line in process.LogLines())
        {
            if (!line.StartsWith('{') || !line.Contains($"\"EventId\":{eventId},", StringComparison.Ordinal))
            {
                continue;
            }
            using var doc = TryParse(line);
            if (doc is null || !doc.RootElement.TryGetProperty("Scopes", out var scopes))
            {
                continue;
            }
            foreach (var scope in scopes.EnumerateArray())
            {
                if (scope.ValueKind == JsonValueKind.Object && scope.TryGetProperty("JobId", out var id) && scope.TryGetProperty("Worker", out var worker))
                {
                    yield return (id.GetString()!, worker.GetString()!);
                }
            }
        }
    }

    public async Task<string> SubmitAsync(MultipartFormDataContent form)
    {
        var post = await Client.PostAsync("/quantize", form);
        var body = await post.Content.ReadAsStringAsync();
        if (post.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /quantize answered {(int)post.StatusCode}: {body}");
        }
        return JsonSerializer.Deserialize<JobAccepted>(body, ServiceApp.Json)!.Id;
    }

    /// <summary>The job, or null while the Api is down.</summary>
    public async Task<JobResponse?> TryGetAsync(string id)
    {
        try
        {
            return await Client.GetFromJsonAsync<JobResponse>($"/jobs/{id}", ServiceApp.Json);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public async Task<List<JobResponse>> WaitFinishedAsync(IReadOnlyList<string> ids, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var jobs = new List<JobResponse>();
            foreach (var id in ids)
            {
                if (await TryGetAsync(id) is { } job)
                {
                    jobs.Add(job);
                }
            }
            if (jobs.Count == ids.Count && jobs.All(j => j.Status is "succeeded" or "failed" or "cancelled"))
            {
                return jobs;
            }
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException("Jobs not finished in time: " + string.Join("; ", jobs.Select(j => $"{j.Id} {j.Status} {j.Stage} attempts {j.Attempts}")) +
                    "\n" + string.Join("\n", Workers.Select(Tail)));
            }
            await Task.Delay(200);
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException(failure());
            }
            await Task.Delay(100);
        }
    }

    public static string Tail(ServiceProcess process) =>
        $"[{process.Name}] " + string.Join("\n", process.LogLines().TakeLast(15));

    /// <summary>Every file under the data directories (nothing should be left once jobs are deleted).</summary>
    public IEnumerable<string> FilesUnder(string name) =>
        Directory.Exists(Path.Combine(Root, name))
            ? Directory.EnumerateFiles(Path.Combine(Root, name), "*", SearchOption.AllDirectories)
            : [];

    public void Dispose()
    {
        foreach (var w in Workers)
        {
            w.Dispose();
        }
        Api.Dispose();
        Client.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
