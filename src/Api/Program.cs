using DSConvService.Api.Apis;
using DSConvService.Api.Extensions;
using DSConvService.Api.Ui;
using DSConvService.Worker.Hosting;
using Serilog;

var builder = WebApplication.CreateBuilder(args);

builder.AddSerilogLogging();   // Serilog: console, or compact JSON (Logging:Format=json)
builder.AddJobs();             // job store, file store, engine, pipeline, in-process worker (Jobs:RunWorker)
builder.AddInference();        // bounded cache of loaded quantized models
builder.AddApiKeys();          // optional X-Api-Key per owner (ApiKeys section)
builder.AddUploadLimits();     // Kestrel and multipart limits from Limits:MaxUploadBytes
builder.AddProblems();         // RFC 9457 problem details, input exceptions → 4xx
builder.AddHealth();           // database and storage checks
builder.AddApiDocs();          // OpenAPI document

var app = builder.Build();
app.Services.ExitOnInvalidConfiguration();   // bad settings: one line each on stderr, exit code 2

app.UseSerilogRequestLogging();
app.UseProblems();
app.UseApiKeys();

app.MapHealth();               // /health/live, /health/ready, /metrics (Prometheus)
app.MapApiDocs();              // /openapi/v1.json, /swagger
app.MapQuantizeApi();          // POST /quantize
app.MapJobsApi();              // GET /jobs, GET /jobs/{id}, GET /jobs/{id}/artifact, DELETE /jobs/{id}
app.MapInferApi();             // POST /infer
app.MapReportHtmlApi();        // GET /jobs/{id}/report.html (standalone report page)
app.MapPlanApi();              // POST /plan (what a job would do, no job)
app.MapDefaultsApi();          // POST /quantize/defaults (the options a model would get)
app.MapUi();                   // the web page: /, /ui/jobs/{id}, /ui/* files

app.Run();

/// <summary>The Api's entry point (named so tests can use WebApplicationFactory&lt;Program&gt;).</summary>
public partial class Program;
