using System.Diagnostics;
using DSConvService.TestSupport;
using Npgsql;
using Xunit;

namespace DSConvService.Worker.Tests.Jobs;

/// <summary>The tests' private PostgreSQL server never outlives the process that started it.</summary>
public sealed class PostgresServerLifecycleTests
{
    [SkippableFact]
    public async Task A_server_whose_owner_is_killed_is_stopped_and_its_folder_removed()
    {
        Skip.IfNot(PostgresServer.Available, PostgresServer.MissingReason);
        using var owner = Process.Start(new ProcessStartInfo("sleep", "600") { RedirectStandardOutput = true })!;
        var server = new PostgresServer(owner.Id);
        var connection = server.AdminConnectionString;
        await using (var db = new NpgsqlConnection(connection))
        {
            await db.OpenAsync();
        }
        Assert.True(Directory.Exists(server.DataDirectory));

        owner.Kill(); // as kill -9 would: no Dispose, no exit hook of the owner runs
        await owner.WaitForExitAsync();

        var deadline = Stopwatch.StartNew();
        while (Directory.Exists(server.DataDirectory) && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200);
        }
        Assert.False(Directory.Exists(server.DataDirectory), "the watchdog did not remove the server's folder within 30 s");
        await using var after = new NpgsqlConnection(connection);
        await Assert.ThrowsAnyAsync<Exception>(() => after.OpenAsync());
    }
}
