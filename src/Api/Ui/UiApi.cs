using Microsoft.Extensions.FileProviders;

namespace DSConvService.Api.Ui;

/// <summary>
/// The web page for people: `/` (upload, job list) and `/ui/jobs/{id}` (a job's report, try it),
/// static files from wwwroot/ui. The pages hold no data: their scripts call the API (with the
/// X-Api-Key a person types in when keys are configured), so they are served without a key.
/// </summary>
public static class UiApi
{
    public const string PathPrefix = "/ui";

    public static WebApplication MapUi(this WebApplication app)
    {
        var files = new PhysicalFileProvider(FilesDirectory(app.Environment));
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files, RequestPath = PathPrefix });

        app.MapGet("/", () => Page(files, "index.html")).ExcludeFromDescription();
        app.MapGet($"{PathPrefix}/jobs/{{id}}", (string id) => Page(files, "job.html")).ExcludeFromDescription();
        return app;
    }

    /// <summary>True for the paths of the pages and their files (they carry no data, the API calls behind them need the key).</summary>
    public static bool IsPagePath(PathString path) => path == "/" || path.StartsWithSegments(PathPrefix);

    /// <summary>wwwroot/ui under the content root (dotnet run, tests), else beside the assembly (a published app started from another directory).</summary>
    private static string FilesDirectory(IWebHostEnvironment environment)
    {
        var candidates = new[]
        {
            environment.WebRootPath is { Length: > 0 } web ? Path.Combine(web, "ui") : null,
            Path.Combine(environment.ContentRootPath, "wwwroot", "ui"),
            Path.Combine(AppContext.BaseDirectory, "wwwroot", "ui"),
        };
        return candidates.FirstOrDefault(c => c is not null && Directory.Exists(c)) ?? candidates[^1]!;
    }

    private static IResult Page(IFileProvider files, string name)
    {
        var file = files.GetFileInfo(name);
        return file.Exists && file.PhysicalPath is not null
            ? Results.File(file.PhysicalPath, "text/html; charset=utf-8")
            : Results.Problem(statusCode: 500, title: "Web page missing", detail: $"wwwroot/ui/{name} is not deployed with the service.");
    }
}
