using System.Net;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using DSConvService.Worker.Jobs;
using Xunit;

namespace DSConvService.Api.Tests;

/// <summary>Jobs survive restarts and dead workers: the store is the source of truth.</summary>
public sealed class RecoveryTests : IDisposable
{
    // Latency measurement that never ends keeps a job running until its host stops.
    private static readonly Dictionary<string, string?> SlowJobs = new() { ["Jobs:LatencyRuns"] = "100000000" };
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_job_interrupted_by_a_restart_is_completed_by_the_next_host()
    {
        string id;
        await using (var first = new ServiceApp(_dir.Path, SlowJobs))
        {
            var client = first.CreateClient();
            id = await SubmitAsync(client);
            await ServiceApp.WaitAsync(client, id, until: j => j.Stage == "evaluating");
        }

        await using var second = new ServiceApp(_dir.Path);
        var job = await ServiceApp.WaitAsync(second.CreateClient(), id);

        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        Assert.NotNull(job.Report);
        Assert.Equal(1, job.Attempts); // a graceful stop hands the job back without using an attempt
        Assert.Equal(HttpStatusCode.OK, (await second.CreateClient().GetAsync($"/jobs/{id}/artifact")).StatusCode);
    }

    [Fact]
    public async Task A_job_whose_worker_died_is_taken_over_after_its_lease_expires()
    {
        string id;
        await using (var api = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" }))
        {
            id = await SubmitAsync(api.CreateClient());
        }
        // A worker in another process claims the job and dies without a word.
        var store = new SqliteJobStore(Path.Combine(_dir.Path, "jobs.db"));
        var claimed = await store.ClaimNextAsync("dead-worker", TimeSpan.FromSeconds(1), maxAttempts: 3);
        Assert.Equal(id, claimed!.Id);

        await using var app = new ServiceApp(_dir.Path);
        var job = await ServiceApp.WaitAsync(app.CreateClient(), id);

        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        Assert.Equal(2, job.Attempts);
    }

    [Fact]
    public async Task A_job_that_kills_every_worker_fails_after_the_last_attempt_with_the_reason()
    {
        string id;
        await using (var api = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" }))
        {
            id = await SubmitAsync(api.CreateClient());
        }
        var store = new SqliteJobStore(Path.Combine(_dir.Path, "jobs.db"));
        await store.ClaimNextAsync("dead-1", TimeSpan.FromMilliseconds(100), maxAttempts: 2);
        await Task.Delay(200);
        await store.ClaimNextAsync("dead-2", TimeSpan.FromMilliseconds(100), maxAttempts: 2);
        await Task.Delay(200);

        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:MaxAttempts"] = "2" });
        var job = await ServiceApp.WaitAsync(app.CreateClient(), id);

        Assert.Equal("failed", job.Status);
        Assert.Contains("lease expired", job.Error);
    }

    [Fact]
    public async Task A_running_job_is_cancelled_on_request_and_then_deleted()
    {
        await using var app = new ServiceApp(_dir.Path, SlowJobs);
        var client = app.CreateClient();
        var id = await SubmitAsync(client);
        await ServiceApp.WaitAsync(client, id, until: j => j.Status == "running");

        var cancel = await client.DeleteAsync($"/jobs/{id}");
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var job = await ServiceApp.WaitAsync(client, id, TimeSpan.FromSeconds(30));

        Assert.Equal("cancelled", job.Status);
        Assert.Null(job.Report);
        await Problems.AssertAsync(await client.GetAsync($"/jobs/{id}/artifact"), HttpStatusCode.Conflict, "cancelled");
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/jobs/{id}")).StatusCode);
    }

    [Fact]
    public async Task A_queued_job_is_cancelled_at_once()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        var client = app.CreateClient();
        var id = await SubmitAsync(client);

        var cancel = await client.DeleteAsync($"/jobs/{id}");

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", (await cancel.Content.ReadFromJsonAsync<JobResponse>(ServiceApp.Json))!.Status);
        await Problems.AssertAsync(await client.PostAsync($"/infer?model={id}", TestInputs.File(TestInputs.Png(16, 16, 1))),
            HttpStatusCode.Conflict, "cancelled");
    }

    [Fact]
    public async Task An_image_that_cannot_be_decoded_fails_the_job_with_its_name()
    {
        await using var app = new ServiceApp(_dir.Path);
        var client = app.CreateClient();
        var calibration = TestInputs.Zip(("good.png", TestInputs.Png(16, 16, 1)), ("broken.png", TestInputs.Png(16, 16, 2)[..60]));
        // A PNG signature passes the check at submission; the truncated data fails only when decoded.
        var post = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn(), calibration: calibration));
        var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;

        var job = await ServiceApp.WaitAsync(client, id);

        Assert.Equal("failed", job.Status);
        Assert.Contains("broken.png", job.Error);
    }

    private static async Task<string> SubmitAsync(HttpClient client)
    {
        var post = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn()));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        return (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
    }
}
