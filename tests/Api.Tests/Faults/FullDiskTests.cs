using System.Net;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using Npgsql;
using Xunit;

namespace DSConvService.Api.Tests.Faults;

/// <summary>
/// A disk that is really full: a small tmpfs (mounted by the test, as root) filled with a filler file.
/// Uploads get 507 without a server path, finished jobs can still be deleted, an artifact write that
/// hits the full disk is retried, and everything works again once space is back. On the file system
/// and on PostgreSQL (blob chunks in a tablespace on the tmpfs).
/// </summary>
[Collection(ProcessFaults.Name)]
public sealed class FullDiskTests : IDisposable
{
    private static readonly Dictionary<string, string?> QuickRetries = new()
    {
        ["Jobs:RetryBackoff"] = "00:00:00.200",
        ["Jobs:MaxAttempts"] = "10",
    };

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task Uploads_on_a_full_disk_get_507_without_a_server_path_and_finished_jobs_can_still_be_deleted()
    {
        using var disk = TmpfsMount.Create(24);
        await using var app = new ServiceApp(disk.Path, new() { ["Storage:SweepInterval"] = "00:00:01" });
        var client = app.CreateClient();
        var first = await SubmitAndWaitAsync(client);
        Assert.True(File.Exists(Path.Combine(disk.Path, DSConvService.Worker.Artifacts.DiskReserve.FileName)));

        disk.Fill();

        var refused = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn()));
        var problem = await Problems.AssertAsync(refused, (HttpStatusCode)507, "storage is full");
        Assert.DoesNotContain(disk.Path, problem.GetRawText());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/jobs/{first}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/jobs/{first}")).StatusCode);
        Assert.False(File.Exists(Path.Combine(disk.Path, "artifacts", first + ".onnx")));
        Assert.Empty(Directory.GetFiles(disk.Path, ".probe-*", SearchOption.AllDirectories));

        disk.Free();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        await SubmitAndWaitAsync(client);
        // The sweeper puts the reserve back once there is room.
        await ServiceCluster.WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(disk.Path, DSConvService.Worker.Artifacts.DiskReserve.FileName))),
            TimeSpan.FromSeconds(10), () => "the disk reserve was not put back");
    }

    [SkippableFact]
    public async Task A_full_disk_on_artifact_write_is_retried_and_the_job_succeeds_once_space_is_back()
    {
        // Only the artifacts folder is on the small disk: the upload and the database still have room.
        using var disk = TmpfsMount.Create(8, at: Path.Combine(_dir.Path, "artifacts"));
        await using var app = new ServiceApp(_dir.Path, QuickRetries);
        var client = app.CreateClient();
        disk.Fill();

        var id = await SubmitAsync(client);
        var failing = await ServiceApp.WaitAsync(client, id, TimeSpan.FromSeconds(60), j => j.AttemptErrors.Count > 0);

        Assert.Contains("storage was full", failing.AttemptErrors[0]);
        Assert.DoesNotContain(disk.Path, failing.AttemptErrors[0]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/jobs")).StatusCode);

        disk.Free();
        var job = await ServiceApp.WaitAsync(client, id, TimeSpan.FromSeconds(60));

        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        Assert.True(job.Attempts >= 2);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/jobs/{id}/artifact")).StatusCode);
    }

    [SkippableFact]
    public async Task On_postgres_a_full_blob_tablespace_gives_507_and_retries_and_works_once_space_is_back()
    {
        var connection = PostgresServer.Shared.CreateDatabase();
        using var disk = TmpfsMount.Create(24, owner: "postgres");
        var settings = new Dictionary<string, string?>(QuickRetries)
        {
            ["Jobs:Store"] = "postgres",
            ["Storage:Blobs"] = "postgres",
            ["ConnectionStrings:Postgres"] = connection,
        };
        await using var api = new ServiceApp(_dir.Path, new(settings) { ["Jobs:RunWorker"] = "false" });
        var client = api.CreateClient();
        await using (var db = NpgsqlDataSource.Create(connection))
        {
            var tablespace = $"ts_{Guid.NewGuid():N}";
            await using var create = db.CreateCommand($"CREATE TABLESPACE {tablespace} LOCATION '{disk.Folder("pg", "postgres")}';");
            await create.ExecuteNonQueryAsync();
            await using var move = db.CreateCommand($"ALTER TABLE blob_chunks SET TABLESPACE {tablespace};");
            await move.ExecuteNonQueryAsync();
        }
        var first = await SubmitAsync(client);
        var second = await SubmitAsync(client);

        disk.Fill();

        var refused = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn()));
        var problem = await Problems.AssertAsync(refused, (HttpStatusCode)507, "storage is full");
        Assert.DoesNotContain(disk.Path, problem.GetRawText());
        // A worker starts while the disk is full: it reads the uploads, then fails to store the artifact.
        await using var worker = new ServiceApp(Path.Combine(_dir.Path, "worker"), settings);
        var workerClient = worker.CreateClient();
        var failing = await ServiceApp.WaitAsync(client, first, TimeSpan.FromSeconds(60), j => j.AttemptErrors.Count > 0);
        Assert.Contains("storage was full", failing.AttemptErrors[0]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);

        disk.Free();
        var done = await ServiceApp.WaitAsync(client, first, TimeSpan.FromSeconds(60));
        Assert.True(done.Status == "succeeded", $"job {done.Status}: {done.Error}");
        Assert.Equal("succeeded", (await ServiceApp.WaitAsync(client, second, TimeSpan.FromSeconds(60))).Status);

        // Deleting a finished job works on a full disk too.
        disk.Fill();
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/jobs/{first}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/jobs/{first}")).StatusCode);
        disk.Free();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/jobs/{second}/artifact")).StatusCode);
        _ = workerClient;
    }

    private static async Task<string> SubmitAsync(HttpClient client)
    {
        var post = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn()));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        return (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
    }

    private static async Task<string> SubmitAndWaitAsync(HttpClient client)
    {
        var id = await SubmitAsync(client);
        var job = await ServiceApp.WaitAsync(client, id);
        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        return id;
    }
}
