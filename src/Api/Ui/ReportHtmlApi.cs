using System.Globalization;
using System.Text.Json;
using DSConvService.Api.Apis;
using DSConvService.Api.Extensions;
using DSConvService.Core.Reports;
using DSConvService.ReportHtml;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DSConvService.Api.Ui;

/// <summary>GET /jobs/{id}/report.html: a finished job's report as one standalone HTML file (charts inline, opens offline).</summary>
public static class ReportHtmlApi
{
    public static IEndpointRouteBuilder MapReportHtmlApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/jobs/{id}/report.html", GetReportHtml)
            .WithName("GetReportHtml")
            .WithTags("Jobs")
            .WithSummary("The report of a succeeded job as a standalone HTML page (per-layer chart, size, latency; no network needed to open it)")
            .Produces(StatusCodes.Status200OK, contentType: "text/html")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> GetReportHtml(string id, HttpContext http, IJobStore store, CancellationToken ct)
    {
        var job = await store.GetAsync(id, http.Owner(), ct);
        if (job is null)
        {
            return JobsApi.NotFound(id);
        }
        if (job.Status != JobStatus.Succeeded || job.ReportJson is null)
        {
            return TypedResults.Problem(statusCode: 409, title: "No report yet",
                detail: $"Job {id} is {job.Status.ToApiName()}; the report exists once the job has succeeded.");
        }
        var report = JsonSerializer.Deserialize<QuantizationReport>(job.ReportJson, QuantizationPipeline.ReportJson)!;
        var options = JsonSerializer.Deserialize<QuantizeOptions>(job.OptionsJson, OptionsResolver.Json);
        var origin = $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";
        var html = ReportRenderer.Render(new ReportDocument
        {
            Report = report,
            Title = job.Inputs.ModelFileName,
            JobId = job.Id,
            Settings = options is null ? [] : Settings(options, job.Inputs),
            ArtifactUrl = $"{origin}/jobs/{job.Id}/artifact",
            ReportJsonUrl = $"{origin}/jobs/{job.Id}",
            GeneratedAt = job.FinishedAt ?? DateTimeOffset.UtcNow,
        });
        var name = Path.GetFileNameWithoutExtension(job.Inputs.ModelFileName);
        http.Response.Headers.ContentDisposition = $"inline; filename=\"{(name.Length > 0 ? name : "model")}.report.html\"";
        return TypedResults.Content(html, "text/html; charset=utf-8");
    }

    /// <summary>The job's effective options as the report lists them.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Settings(QuantizeOptions o, JobInputs inputs)
    {
        var c = CultureInfo.InvariantCulture;
        var p = o.Preprocessing;
        var list = new List<KeyValuePair<string, string>>
        {
            new("weight bits", $"{o.WeightBits}"),
            new("block size", $"{o.BlockSize}"),
            new("activations", o.ActivationBits == 0 ? "float" : $"BFP, {o.ActivationBits}-bit mantissas"),
            new("KDS", o.Kds ?? "l2"),
            new("adapt", o.Adapt == true ? "yes" : "no"),
            new("task", o.Task ?? ModelTask.Classify),
        };
        if (p is not null)
        {
            list.Add(new("preprocessing", string.Create(c,
                $"{p.Width}×{p.Height} {p.Resize}, {p.ColorMode}, scale {p.Scale}, mean [{string.Join(", ", (p.Mean ?? []).Select(m => m.ToString(c)))}], std [{string.Join(", ", (p.Std ?? []).Select(s => s.ToString(c)))}]")));
        }
        list.Add(new("uploads", string.Join(", ", new[]
        {
            inputs.ModelFileName,
            inputs.HasCalibration ? "calibration zip" : null,
            inputs.HasEvaluation ? "evaluation zip" : null,
            inputs.HasLabels ? "labels" : null,
        }.Where(s => s is not null))));
        return list;
    }
}
