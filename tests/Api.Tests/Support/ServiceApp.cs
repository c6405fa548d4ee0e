using System.Net.Http.Json;
using System.Text.Json;
using DSConvService.Api.Contracts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Xunit;

namespace DSConvService.Api.Tests.Support;

/// <summary>
/// The whole service (Api + in-process worker) on a data directory of its own, real SQLite and real
/// files. Settings can be overridden per test; two apps on one directory simulate a restart.
/// </summary>
public sealed class ServiceApp(string dataDirectory, Dictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string DataDirectory { get; } = dataDirectory;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var defaults = new Dictionary<string, string?>
        {
            ["Storage:DataDirectory"] = DataDirectory,
            ["Jobs:PollInterval"] = "00:00:00.050",
            ["Jobs:HeartbeatInterval"] = "00:00:00.200",
            ["Jobs:LeaseDuration"] = "00:00:02",
            ["Jobs:LatencyRuns"] = "2",
            ["Jobs:SyntheticSamples"] = "4",
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in settings ?? [])
        {
            defaults[k] = v;
        }
        foreach (var (k, v) in defaults)
        {
            builder.UseSetting(k, v);
        }
    }

    /// <summary>Polls GET /jobs/{id} until the job is finished (or the timeout passes).</summary>
    public static async Task<JobResponse> WaitAsync(HttpClient client, string id, TimeSpan? timeout = null, Func<JobResponse, bool>? until = null)
    {
        until ??= j => j.Status is "succeeded" or "failed" or "cancelled";
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (true)
        {
            var job = (await client.GetFromJsonAsync<JobResponse>($"/jobs/{id}", Json))!;
            if (until(job))
            {
                return job;
            }
            Assert.True(DateTime.UtcNow < deadline, $"Job {id} is still {job.Status} ({job.Stage}, {job.Progress:P0}) after the timeout.");
            await Task.Delay(100);
        }
    }
}
