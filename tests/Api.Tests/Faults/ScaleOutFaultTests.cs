using DSConvService.TestSupport;
using Npgsql;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Api.Tests.Faults;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessFaults
{
    /// <summary>Tests that run the service as child processes and kill them: alone, so timings stay meaningful.</summary>
    public const string Name = "process faults";
}

/// <summary>
/// Issue 9's fault and load suite on a real PostgreSQL 15 (a private server, restarted mid-run): the Api
/// and two workers as separate processes with separate data directories, sharing only the database
/// (Jobs:Store = postgres, Storage:Blobs = postgres).
/// </summary>
[Collection(ProcessFaults.Name)]
public sealed class ScaleOutFaultTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task Jobs_over_two_worker_processes_survive_kills_of_workers_and_the_api_and_a_database_restart()
    {
        Skip.IfNot(PostgresServer.Available, PostgresServer.MissingReason);
        using var server = new PostgresServer();
        var connection = server.CreateDatabase();
        using var cluster = new ServiceCluster(_dir.Path, new Dictionary<string, string>
        {
            ["Jobs:Store"] = "postgres",
            ["Storage:Blobs"] = "postgres",
            ["ConnectionStrings:Postgres"] = connection,
        }, workers: 2, sharedDataDirectory: false);
        var scenario = new FaultScenario(cluster, output)
        {
            MidJobFault = async () =>
            {
                server.Kill();
                await Task.Delay(2000);
                server.Start();
            },
        };

        var jobs = await scenario.RunJobsUnderKillsAsync();

        await using var db = NpgsqlDataSource.Create(connection);
        await scenario.CheckOutcomeAsync(jobs, async () =>
        {
            await using var count = db.CreateCommand("SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM blob_chunks);");
            return (long)(await count.ExecuteScalarAsync())!;
        }, ["api", "worker-1", "worker-2"]);
        // Shared nothing but the database: no job's bytes ever landed in a data directory.
        foreach (var dir in new[] { "api", "worker-1", "worker-2" })
        {
            Assert.Empty(cluster.FilesUnder(dir));
        }
    }
}
