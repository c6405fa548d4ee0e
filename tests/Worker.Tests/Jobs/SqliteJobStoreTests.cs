using DSConvService.Worker.Jobs;
using DSConvService.Worker.Tests.Support;
using Xunit;

namespace DSConvService.Worker.Tests.Jobs;

public sealed class SqliteJobStoreTests : IDisposable
{
    private static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<SqliteJobStore> StoreAsync()
    {
        var store = new SqliteJobStore(_dir.File("jobs.db"));
        await store.InitializeAsync();
        return store;
    }

    private static Job NewJob(string id, string? owner = null, DateTimeOffset? created = null) => new()
    {
        Id = id,
        Owner = owner,
        OptionsJson = "{}",
        CreatedAt = created ?? DateTimeOffset.UtcNow,
    };

    [Fact]
    public async Task Claim_takes_the_oldest_queued_job_and_marks_it_running()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("b", created: DateTimeOffset.UtcNow));
        await store.CreateAsync(NewJob("a", created: DateTimeOffset.UtcNow.AddSeconds(-10)));

        var claimed = await store.ClaimNextAsync("w1", LongLease, 3);

        Assert.NotNull(claimed);
        Assert.Equal("a", claimed.Id);
        Assert.Equal(JobStatus.Running, claimed.Status);
        Assert.Equal(1, claimed.Attempts);
        Assert.Equal("w1", claimed.LeaseOwner);
        Assert.NotNull(claimed.StartedAt);
    }

    [Fact]
    public async Task Concurrent_claims_from_two_stores_never_take_the_same_job()
    {
        var one = await StoreAsync();
        var two = new SqliteJobStore(_dir.File("jobs.db"));
        for (var i = 0; i < 20; i++)
        {
            await one.CreateAsync(NewJob($"job{i:D2}"));
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => (i % 2 == 0 ? one : two).ClaimNextAsync($"w{i}", LongLease, 3))));

        var ids = claims.Where(c => c is not null).Select(c => c!.Id).ToList();
        Assert.Equal(20, ids.Count);
        Assert.Equal(20, ids.Distinct().Count());
    }

    [Fact]
    public async Task An_expired_lease_is_taken_over_by_another_worker()
    {
        var first = await StoreAsync();
        var second = new SqliteJobStore(_dir.File("jobs.db"));
        await first.CreateAsync(NewJob("j"));
        var claimed = await first.ClaimNextAsync("dead-worker", TimeSpan.FromMilliseconds(200), 3);
        Assert.NotNull(claimed);

        Assert.Null(await second.ClaimNextAsync("w2", LongLease, 3));
        await Task.Delay(400);
        var taken = await second.ClaimNextAsync("w2", LongLease, 3);

        Assert.NotNull(taken);
        Assert.Equal("j", taken.Id);
        Assert.Equal("w2", taken.LeaseOwner);
        Assert.Equal(2, taken.Attempts);
        // The dead worker has lost the job: its heartbeat and its result are refused.
        Assert.False((await first.HeartbeatAsync("j", "dead-worker", LongLease)).Held);
        Assert.False(await first.MarkSucceededAsync("j", "dead-worker", "{}", "00", 1));
        Assert.True(await second.MarkSucceededAsync("j", "w2", "{}", "00", 1));
        Assert.Equal(JobStatus.Succeeded, (await first.GetAsync("j"))!.Status);
    }

    [Fact]
    public async Task A_heartbeat_keeps_the_lease()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("j"));
        await store.ClaimNextAsync("w1", TimeSpan.FromMilliseconds(300), 3);
        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(150);
            Assert.True((await store.HeartbeatAsync("j", "w1", TimeSpan.FromMilliseconds(300))).Held);
        }
        Assert.Null(await store.ClaimNextAsync("w2", LongLease, 3));
    }

    [Fact]
    public async Task After_the_last_attempt_expires_the_job_fails_with_the_reason()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("j"));
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var claimed = await store.ClaimNextAsync($"w{attempt}", TimeSpan.FromMilliseconds(50), maxAttempts: 2);
            Assert.Equal(attempt, claimed!.Attempts);
            await Task.Delay(120);
        }

        Assert.Null(await store.ClaimNextAsync("w3", LongLease, maxAttempts: 2));
        var job = await store.GetAsync("j");
        Assert.Equal(JobStatus.Failed, job!.Status);
        Assert.Contains("2 time(s)", job.Error);
        Assert.Contains("lease expired", job.Error);
        Assert.NotNull(job.FinishedAt);
    }

    [Fact]
    public async Task Cancelling_a_queued_job_is_immediate_and_a_running_one_is_flagged_for_its_worker()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("queued", created: DateTimeOffset.UtcNow.AddSeconds(1)));
        await store.CreateAsync(NewJob("running"));
        await store.ClaimNextAsync("w1", LongLease, 3);

        var queued = await store.RequestCancelAsync("queued");
        var running = await store.RequestCancelAsync("running");

        Assert.Equal(JobStatus.Cancelled, queued!.Status);
        Assert.Equal(JobStatus.Running, running!.Status);
        Assert.True(running.CancelRequested);
        Assert.True((await store.HeartbeatAsync("running", "w1", LongLease)).CancelRequested);
        Assert.True((await store.UpdateProgressAsync("running", "w1", "quantizing", 0.5)).CancelRequested);
        Assert.True(await store.MarkCancelledAsync("running", "w1"));
        Assert.Equal(JobStatus.Cancelled, (await store.GetAsync("running"))!.Status);
        Assert.Null(await store.ClaimNextAsync("w2", LongLease, 3));
    }

    [Fact]
    public async Task A_released_job_is_queued_again_without_using_an_attempt()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("j"));
        await store.ClaimNextAsync("w1", LongLease, 1);

        Assert.True(await store.ReleaseAsync("j", "w1"));
        var again = await store.ClaimNextAsync("w2", LongLease, 1);

        Assert.Equal("j", again!.Id);
        Assert.Equal(1, again.Attempts);
    }

    [Fact]
    public async Task Progress_failure_and_owner_filtering()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("mine", owner: "alice"));
        await store.CreateAsync(NewJob("theirs", owner: "bob"));

        Assert.Null(await store.GetAsync("theirs", owner: "alice"));
        Assert.NotNull(await store.GetAsync("theirs", owner: "bob"));
        var page = await store.ListAsync(1, 10, owner: "alice");
        Assert.Equal(1, page.Total);
        Assert.Equal("mine", Assert.Single(page.Items).Id);
        Assert.False(await store.DeleteAsync("mine", owner: "alice")); // not finished yet

        var claimed = await store.ClaimNextAsync("w1", LongLease, 3);
        Assert.True((await store.UpdateProgressAsync(claimed!.Id, "w1", "evaluating", 0.75)).Held);
        var running = await store.GetAsync(claimed.Id);
        Assert.Equal("evaluating", running!.Stage);
        Assert.Equal(0.75, running.Progress, 6);

        Assert.True(await store.MarkFailedAsync(claimed.Id, "w1", "Operator 'Foo' is not supported."));
        var failed = await store.GetAsync(claimed.Id);
        Assert.Equal(JobStatus.Failed, failed!.Status);
        Assert.Equal("Operator 'Foo' is not supported.", failed.Error);
        Assert.True(await store.DeleteAsync(claimed.Id));
        Assert.Null(await store.GetAsync(claimed.Id));
    }

    [Fact]
    public async Task The_database_uses_write_ahead_logging()
    {
        await StoreAsync();
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_dir.File("jobs.db")}");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string)cmd.ExecuteScalar()!);
    }
}
