using DSConvService.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Api.Tests.Faults;

/// <summary>
/// The same fault suite on the embedded stores (SQLite and files in one data directory that the Api
/// and two worker processes share, as on one machine or a shared mount); there is no database server
/// to restart.
/// </summary>
[Collection(ProcessFaults.Name)]
public sealed class SqliteFaultTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Jobs_over_two_worker_processes_sharing_a_data_directory_survive_kills_of_workers_and_the_api()
    {
        using var cluster = new ServiceCluster(_dir.Path, new Dictionary<string, string>(), workers: 2, sharedDataDirectory: true);
        var scenario = new FaultScenario(cluster, output);

        var jobs = await scenario.RunJobsUnderKillsAsync();

        var shared = Path.Combine(_dir.Path, "shared");
        await scenario.CheckOutcomeAsync(jobs, () => Task.FromResult((long)cluster.FilesUnder("shared")
            .Count(f => !Path.GetFileName(f).StartsWith("jobs.db", StringComparison.Ordinal) && Path.GetFileName(f) != DSConvService.Worker.Artifacts.DiskReserve.FileName)), ["shared"]);
        Assert.True(File.Exists(Path.Combine(shared, "jobs.db")));
    }
}
