using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

/// <summary>The failures found by trying the service as an attacker and an operator (issue 9, item 0), each answered.</summary>
public sealed class HardeningTests : IDisposable
{
    private static readonly Dictionary<string, string?> SlowJobs = new() { ["Jobs:LatencyRuns"] = "100000000" };
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ServiceApp App(Dictionary<string, string?>? settings = null) => new(_dir.Path, settings);

    private static Dictionary<string, string?> NoWorker(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?> { ["Jobs:RunWorker"] = "false" };
        foreach (var (k, v) in extra ?? [])
        {
            settings[k] = v;
        }
        return settings;
    }

    [Fact]
    public async Task A_small_model_whose_activations_exceed_the_memory_limit_is_refused_naming_the_tensor()
    {
        await using var app = App(NoWorker());
        var response = await app.CreateClient().PostAsync("/quantize", TestInputs.Form(TestInputs.WideInputConv(2048), options: """{"preprocessing":{"colorMode":"rgb"}}"""));

        var problem = await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "[1,64,2048,2048]");
        var tensor = problem.GetProperty("tensor").GetString()!;
        Assert.Contains($"'{tensor}'", problem.GetProperty("detail").GetString());
        Assert.Contains("MaxInferenceMemoryBytes", problem.GetProperty("detail").GetString());
        Assert.True(problem.GetProperty("estimatedBytes").GetInt64() > 1L << 30);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dir.Path, "uploads")));
    }

    [Fact]
    public async Task The_memory_limit_is_configurable()
    {
        await using var app = App(NoWorker(new() { ["Limits:MaxInferenceMemoryBytes"] = "4194304" }));
        var client = app.CreateClient();
        // [1,64,128,128] floats = 4 MiB for the Conv's output alone: over a 4 MiB limit, while 64x64 fits.
        await Problems.AssertAsync(await client.PostAsync("/quantize", TestInputs.Form(TestInputs.WideInputConv(128))), HttpStatusCode.BadRequest, "[1,64,128,128]");
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync("/quantize", TestInputs.Form(TestInputs.WideInputConv(64)))).StatusCode);
    }

    [Fact]
    public async Task A_conv_whose_weight_does_not_fit_its_input_is_refused_at_submission_naming_the_node()
    {
        await using var app = App(NoWorker());
        var response = await app.CreateClient().PostAsync("/quantize", TestInputs.Form(TestInputs.MismatchedConv()));
        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "Conv node 'Conv_");
    }

    [Fact]
    public async Task Zip_entries_named_as_images_that_are_not_images_are_refused_at_submission()
    {
        await using var app = App(NoWorker());
        var zip = TestInputs.Zip(("0/good.png", TestInputs.Png(16, 16, 1)), ("1/fake.png", "this is text, not an image"u8.ToArray()));
        var response = await app.CreateClient().PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn(), evaluation: zip));
        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "'1/fake.png'");
    }

    [Fact]
    public async Task Huge_zip_entries_are_refused_at_submission_before_the_worker_inflates_them()
    {
        await using var app = App(NoWorker(new() { ["Limits:MaxImageBytes"] = "4096" }));
        var big = TestInputs.Png(16, 16, 1).Concat(new byte[100_000]).ToArray(); // a PNG signature, then 100 KB
        var zip = TestInputs.Zip(("0/big.png", big));
        var response = await app.CreateClient().PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn(), calibration: zip));
        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "limit of 4096 bytes per image");
    }

    [Fact]
    public async Task Truncated_or_corrupt_images_at_infer_are_400()
    {
        await using var app = App();
        var client = app.CreateClient();
        var id = await SubmitAsync(client, TestInputs.TinyCnn());
        var job = await ServiceApp.WaitAsync(client, id);
        Assert.True(job.Status == "succeeded", job.Error);

        var png = TestInputs.Png(16, 16, 3);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/infer?model={id}", TestInputs.File(png))).StatusCode);
        var truncated = png[..(png.Length * 2 / 3)];
        await Problems.AssertAsync(await client.PostAsync($"/infer?model={id}", TestInputs.File(truncated)), HttpStatusCode.BadRequest, "truncated");
        var corrupt = (byte[])png.Clone();
        Array.Fill(corrupt, (byte)0x5A, 40, Math.Min(200, corrupt.Length - 52));
        var response = await client.PostAsync($"/infer?model={id}", TestInputs.File(corrupt));
        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "image");
        var form = new MultipartFormDataContent { { TestInputs.File(truncated), "image", "x.png" } };
        await Problems.AssertAsync(await client.PostAsync($"/infer?model={id}", form), HttpStatusCode.BadRequest, "truncated");
    }

    [Fact]
    public async Task A_running_job_is_cancelled_within_a_second()
    {
        await using var app = App(SlowJobs);
        var client = app.CreateClient();
        var id = await SubmitAsync(client, TestInputs.TinyCnn());
        await ServiceApp.WaitAsync(client, id, until: j => j.Stage == "evaluating");

        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"/jobs/{id}")).StatusCode);
        var job = await ServiceApp.WaitAsync(client, id, TimeSpan.FromSeconds(10));

        Assert.Equal("cancelled", job.Status);
        // Within a second of the request on a quiet machine; the margin is for a machine shared by parallel builds.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"cancellation took {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_job_growing_beyond_the_worker_memory_budget_is_stopped_and_fails_with_the_reason()
    {
        await using var app = App(new() { ["Jobs:MaxJobMemoryBytes"] = "16777216", ["Jobs:SyntheticSamples"] = "64" });
        var client = app.CreateClient();
        // [1,16,512,512] floats are 16 MiB per value: the fp32 reference and our plans together grow far beyond 16 MiB.
        var id = await SubmitAsync(client, TestInputs.WideInputConv(512, outChannels: 16));
        var job = await ServiceApp.WaitAsync(client, id, TimeSpan.FromSeconds(120));

        Assert.Equal("failed", job.Status);
        Assert.Contains("Jobs:MaxJobMemoryBytes", job.Error);
        Assert.Equal(1, job.Attempts); // a job too big for the worker is not tried again
    }

    [Fact]
    public async Task A_fault_that_is_not_the_input_is_retried_and_the_job_succeeds_keeping_the_reason()
    {
        await using var app = App(new() { ["Jobs:RetryBackoff"] = "00:00:00.500" });
        var client = app.CreateClient();
        // The artifacts folder replaced by a file: writing the artifact fails with an I/O error until it is back.
        var artifacts = Path.Combine(_dir.Path, "artifacts");
        Directory.Delete(artifacts, recursive: true);
        await File.WriteAllTextAsync(artifacts, "in the way");
        var id = await SubmitAsync(client, TestInputs.TinyCnn());
        var retried = await ServiceApp.WaitAsync(client, id, until: j => j.AttemptErrors.Count > 0 || j.Status is "succeeded" or "failed");
        Assert.Equal("queued", retried.Status);
        File.Delete(artifacts);
        Directory.CreateDirectory(artifacts);

        var job = await ServiceApp.WaitAsync(client, id);

        Assert.True(job.Status == "succeeded", job.Error);
        Assert.Equal(2, job.Attempts);
        Assert.StartsWith("attempt 1: Internal error", job.AttemptErrors.Single());
        Assert.Contains("IOException", job.AttemptErrors[0]);
        Assert.DoesNotContain(_dir.Path, job.AttemptErrors[0] + job.Error);
    }

    [Fact]
    public async Task Readiness_probes_leave_no_files()
    {
        await using var app = App(NoWorker());
        var client = app.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        }
        var left = Directory.GetFiles(_dir.Path, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith("jobs.db", StringComparison.Ordinal));
        Assert.Empty(left);
    }

    [Fact]
    public async Task The_sweeper_removes_uploads_without_a_job_and_stale_temp_files_but_keeps_jobs()
    {
        string kept;
        await using (var first = App(NoWorker()))
        {
            kept = await SubmitAsync(first.CreateClient(), TestInputs.TinyCnn());
        }
        // What a kill -9 during a submission or a write leaves.
        var orphan = Path.Combine(_dir.Path, "uploads", "0199aaaabbbbccccddddeeeeffff0000");
        Directory.CreateDirectory(orphan);
        await File.WriteAllBytesAsync(Path.Combine(orphan, "model.onnx"), new byte[1000]);
        var temp = Path.Combine(_dir.Path, "artifacts", "x.onnx.0123.tmp");
        await File.WriteAllBytesAsync(temp, new byte[10]);
        var old = DateTime.UtcNow.AddHours(-2);
        Directory.SetLastWriteTimeUtc(orphan, old);
        File.SetLastWriteTimeUtc(temp, old);
        var fresh = Path.Combine(_dir.Path, "uploads", "0199aaaabbbbccccddddeeeeffff1111");
        Directory.CreateDirectory(fresh); // young: a submission may still be uploading into it

        await using var second = App(NoWorker());
        var client = second.CreateClient();
        await client.GetAsync("/health/live"); // the sweeper runs at start
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((Directory.Exists(orphan) || File.Exists(temp)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.False(Directory.Exists(orphan));
        Assert.False(File.Exists(temp));
        Assert.True(Directory.Exists(fresh));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "uploads", kept, "model.onnx")));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/jobs/{kept}")).StatusCode);
    }

    [Fact]
    public async Task A_failed_submission_leaves_no_upload_behind()
    {
        await using var app = App(NoWorker());
        var zip = TestInputs.Zip(("0/fake.png", "text"u8.ToArray()));
        await Problems.AssertAsync(await app.CreateClient().PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn(), evaluation: zip)), HttpStatusCode.BadRequest, "fake.png");
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_dir.Path, "uploads")));
    }

    [Fact]
    public async Task Metrics_are_served_in_prometheus_text_format()
    {
        await using var app = App(NoWorker());
        var client = app.CreateClient();
        await SubmitAsync(client, TestInputs.TinyCnn());
        var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE dsconv_jobs gauge", text);
        // The registry is process-wide (tests run apps in parallel), so the values are not this app's alone: every status is there.
        foreach (var status in new[] { "queued", "running", "succeeded", "failed", "cancelled" })
        {
            Assert.Matches("dsconv_jobs\\{status=\"" + status + "\"\\} \\d+", text);
        }
        Assert.Contains("# TYPE dsconv_infer_duration_seconds histogram", text);
    }

    internal static async Task<string> SubmitAsync(HttpClient client, byte[] model)
    {
        var post = await client.PostAsync("/quantize", TestInputs.Form(model));
        Assert.True(post.StatusCode == HttpStatusCode.Accepted, await post.Content.ReadAsStringAsync());
        return (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
    }
}
