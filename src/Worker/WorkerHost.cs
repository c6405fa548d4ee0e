using DSConvService.Worker.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace DSConvService.Worker;

/// <summary>
/// The standalone worker process: `dotnet run --project src/Worker` runs jobs from the same data
/// directory (database and files) as the Api, alongside or instead of the Api's in-process worker.
/// </summary>
public static class WorkerHost
{
    public static async Task Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Configuration.AddInMemoryCollection([new("Jobs:RunWorker", "true")]);
        builder.Logging.AddSimpleConsoleOrJson(builder.Configuration);
        builder.AddJobs();
        using var host = builder.Build();
        host.Services.ExitOnInvalidConfiguration();
        await host.RunAsync();
    }
}
