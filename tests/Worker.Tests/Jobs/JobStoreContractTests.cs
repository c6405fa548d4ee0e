using DSConvService.Worker.Jobs;
using Xunit;

namespace DSConvService.Worker.Tests.Jobs;

/// <summary>
/// The contract of a job store (IJobStore), run against each real store: SQLite and PostgreSQL.
/// Transitions, leases, attempts, cancellation and retries must behave the same on both.
/// </summary>
public abstract class JobStoreContractTests
{
    protected static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);

    /// <summary>A store on a fresh, initialized database.</summary>
    protected abstract Task<IJobStore> StoreAsync();

    /// <summary>A second store object (another process, as it were) on the same database.</summary>
    protected abstract IJobStore OpenAnother();

    protected static Job NewJob(string id, string? owner = null, DateTimeOffset? created = null) => new()
    {
        Id = id,
        Owner = owner,
        OptionsJson = "{}",
        CreatedAt = created ?? DateTimeOffset.UtcNow,
    };

    [SkippableFact]
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

    [SkippableFact]
    public async Task Concurrent_claims_from_two_stores_never_take_the_same_job()
    {
        var one = await StoreAsync();
        var two = OpenAnother();
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

    [SkippableFact]
    public async Task An_expired_lease_is_taken_over_by_another_worker()
    {
        var first = await StoreAsync();
        var second = OpenAnother();
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

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
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

    [SkippableFact]
    public async Task A_retried_job_waits_for_its_backoff_keeps_every_reason_and_fails_after_the_last_attempt()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("r"));
        var first = await store.ClaimNextAsync("w1", LongLease, 2);
        Assert.Equal(RetryOutcome.Requeued, await store.RetryLaterAsync("r", "w1", "disk\nfull", TimeSpan.FromMilliseconds(300), 2));
        var queued = (await store.GetAsync("r"))!;
        Assert.Equal(JobStatus.Queued, queued.Status);
        Assert.Equal(["attempt 1: disk full"], queued.AttemptErrors);
        Assert.Null(await store.ClaimNextAsync("w2", LongLease, 2)); // not before the backoff
        await Task.Delay(400);
        var second = await store.ClaimNextAsync("w2", LongLease, 2);
        Assert.Equal(2, second!.Attempts);
        Assert.Equal(RetryOutcome.NotHeld, await store.RetryLaterAsync("r", "w1", "stale worker", TimeSpan.Zero, 2));
        Assert.Equal(RetryOutcome.Failed, await store.RetryLaterAsync("r", "w2", "database away", TimeSpan.Zero, 2));

        var failed = (await store.GetAsync("r"))!;
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Equal(["attempt 1: disk full", "attempt 2: database away"], failed.AttemptErrors);
        Assert.Contains("disk full", failed.Error);
        Assert.Contains("database away", failed.Error);
        Assert.Equal(first!.Id, failed.Id);
    }

    [SkippableFact]
    public async Task A_taken_over_job_records_why_the_earlier_attempt_ended()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("t"));
        await store.ClaimNextAsync("dead", TimeSpan.FromMilliseconds(50), 3);
        await Task.Delay(150);
        var taken = await store.ClaimNextAsync("alive", LongLease, 3);
        Assert.Equal("alive", taken!.LeaseOwner);
        Assert.Contains("lease expired", Assert.Single(taken.AttemptErrors));
        Assert.StartsWith("attempt 1:", taken.AttemptErrors[0]);
    }

    [SkippableFact]
    public async Task Counts_existence_and_lease_checks()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("c1"));
        await store.CreateAsync(NewJob("c2"));
        await store.ClaimNextAsync("w", LongLease, 3);
        var counts = await store.CountByStatusAsync();
        Assert.Equal(1, counts[JobStatus.Queued]);
        Assert.Equal(1, counts[JobStatus.Running]);
        Assert.Equal(0, counts[JobStatus.Failed]);
        Assert.True(await store.ExistsAsync("c2"));
        Assert.False(await store.ExistsAsync("nope"));
        var running = (await store.ListAsync(1, 10)).Items.Single(j => j.Status == JobStatus.Running);
        Assert.Equal(new LeaseState(true, false), await store.CheckLeaseAsync(running.Id, "w"));
        Assert.Equal(new LeaseState(false, false), await store.CheckLeaseAsync(running.Id, "other"));
        await store.RequestCancelAsync(running.Id);
        Assert.Equal(new LeaseState(true, true), await store.CheckLeaseAsync(running.Id, "w"));
        await store.CheckHealthAsync();
    }

    [SkippableFact]
    public async Task Initializing_twice_keeps_the_jobs()
    {
        var store = await StoreAsync();
        await store.CreateAsync(NewJob("keep"));
        await OpenAnother().InitializeAsync();
        Assert.NotNull(await store.GetAsync("keep"));
    }
}
