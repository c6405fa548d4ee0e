using DSConvService.Core.Graph;
using DSConvService.Worker.Artifacts;
using DSConvService.Core.Datasets;
using DSConvService.Worker.Jobs;
using DSConvService.Core.Errors;
using DSConvService.Core.Imaging;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;

namespace DSConvService.Api.Extensions;

public static class ProblemExtensions
{
    /// <summary>RFC 9457 problem details for every error, known input exceptions mapped to 4xx.</summary>
    public static IHostApplicationBuilder AddProblems(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<InputExceptionHandler>();
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase;
            // Numbers are numbers (also in the OpenAPI schemas), not "number or string".
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        return builder;
    }

    public static WebApplication UseProblems(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>Turns exceptions caused by a client's input into 4xx problems with the message that explains them.</summary>
    private sealed class InputExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
        {
            var (status, title, extensions) = exception switch
            {
                BadHttpRequestException { InnerException: InvalidDataException inner } when inner.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
                    => (413, "Upload too large", null),
                _ when StorageFaults.IsDiskFull(exception) => (507, "Insufficient storage", null),
                BadHttpRequestException e => (e.StatusCode, e.StatusCode == 413 ? "Upload too large" : "Bad request", null),
                UploadReadException { InnerException: BadHttpRequestException e } => (e.StatusCode, e.StatusCode == 413 ? "Upload too large" : "Bad request", null),
                UploadReadException => (400, "Incomplete upload", null),
                UploadTooLargeException => (413, "Upload too large", null),
                InferenceMemoryException e => (400, "Model needs too much memory", new Dictionary<string, object?>
                {
                    ["tensor"] = e.Memory.LargestTensor, ["node"] = e.Memory.LargestNode, ["estimatedBytes"] = e.Memory.PlanBytes,
                }),
                InvalidOptionsException e => (400, "Invalid options", new Dictionary<string, object?> { ["errors"] = e.Errors }),
                UnsupportedOperatorException e => (422, "Unsupported operator", new Dictionary<string, object?> { ["operator"] = e.OpType, ["node"] = e.NodeName }),
                InvalidModelException => (400, "Invalid model", null),
                DatasetException => (400, "Invalid dataset", null),
                InvalidImageException => (400, "Invalid image", null),
                InputException => (400, "Invalid input", null),
                InvalidDataException => (400, "Malformed request body", null),
                _ => (0, "", (Dictionary<string, object?>?)null),
            };
            if (status == 0)
            {
                return false;
            }
            context.Response.StatusCode = status;
            var details = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = Detail(exception) };
            foreach (var (k, v) in extensions ?? [])
            {
                details.Extensions[k] = v;
            }
            return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = details, Exception = exception });
        }

        private static string Detail(Exception e) => e switch
        {
            // Never the server's paths or the OS message: what the client can do about it.
            _ when StorageFaults.IsDiskFull(e) =>
                "The service's storage is full, so the request could not be stored. Try again later; deleting finished jobs (DELETE /jobs/{id}) frees space.",
            // Binding errors wrap the cause (e.g. the multipart limit) in a generic message.
            BadHttpRequestException { InnerException: { } inner } b => $"{b.Message} {inner.Message}",
            _ => e.Message,
        };
    }
}
