namespace DSConvService.Api.Tests.Faults;

/// <summary>The built Api and Worker programs (their own bin folders, built with this test project), run as child processes.</summary>
internal static class ServiceBinaries
{
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);

    /// <summary>Release or Debug: the configuration this test assembly was built in.</summary>
    private static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";

    public static string ApiDll => Program("Api", "DSConvService.Api.dll");

    /// <summary>The Api's project folder: its content root (wwwroot, appsettings.json), as under `dotnet run`.</summary>
    public static string ApiProjectDirectory => Path.Combine(Root.Value, "src", "Api");

    public static string WorkerDll => Program("Worker", "DSConvService.Worker.dll");

    private static string Program(string project, string dll)
    {
        var path = Path.Combine(Root.Value, "src", project, "bin", Configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is not built (it is built with the test project: dotnet build tests/Api.Tests -c {Configuration}).");
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DSConvService.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("DSConvService.sln was not found above the test folder.");
    }
}
