using DSConvService.TestSupport;
using System.Diagnostics;
using DSConvService.Api.Tests.Support;
using Xunit;

namespace DSConvService.Api.Tests.Faults;

/// <summary>The standalone worker's settings from its command line: wrong ones stop it with one line each.</summary>
[Collection(ProcessFaults.Name)]
public sealed class WorkerProcessSettingsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("--Storage:Blobs", "s3", "Storage:Blobs must be \"filesystem\" or \"postgres\" (got \"s3\").")]
    [InlineData("--Storage:Blobs", "postgres", "Storage:Blobs is \"postgres\" but ConnectionStrings:Postgres is not set.")]
    [InlineData("--Jobs:Store", "postgres", "Jobs:Store is \"postgres\" but ConnectionStrings:Postgres is not set.")]
    public async Task A_wrong_storage_setting_stops_the_worker_with_one_line(string key, string value, string message)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { ServiceBinaries.WorkerDll, key, value, "--Storage:DataDirectory", _dir.Path })
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Equal([$"Configuration error: {message}"], (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
