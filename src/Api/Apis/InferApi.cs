using System.Diagnostics;
using DSConvService.Api.Contracts;
using DSConvService.Api.Extensions;
using DSConvService.Api.Inference;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Numerics;
using DSConvService.Core.Reports;
using DSConvService.Worker.Hosting;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline.Engine;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace DSConvService.Api.Apis;

public static class InferApi
{
    public static IEndpointRouteBuilder MapInferApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/infer", Infer)
            .WithName("Infer")
            .WithTags("Inference")
            .WithSummary("Classify an image with a job's quantized model (integer kernels): top-k predictions, or the feature vector and its norm for a feature model")
            .WithDescription("Body: multipart field `image` (PNG/JPEG), or the raw image bytes. The job's preprocessing is applied.")
            .AddOpenApiOperationTransformer((operation, _, _) =>
            {
                operation.RequestBody = ImageRequestBody();
                return Task.CompletedTask;
            })
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireInferenceConcurrencyLimit()
            .DisableAntiforgery();
        return app;
    }

    public static async Task<Results<Ok<InferResponse>, ProblemHttpResult>> Infer(
        string? model, HttpContext http, IJobStore store, ModelCache cache, IQuantizationEngine engine,
        IOptions<LimitsOptions> limits, IOptions<InferenceOptions> inference, CancellationToken ct, int topk = 5)
    {
        if (string.IsNullOrEmpty(model))
        {
            return TypedResults.Problem(statusCode: 400, title: "Model missing", detail: "Name the model with ?model={job id} (a succeeded job).");
        }
        if (topk < 1 || topk > inference.Value.MaxTopK)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid topk", detail: $"topk must be between 1 and {inference.Value.MaxTopK}.");
        }
        var job = await store.GetAsync(model, http.Owner(), ct);
        if (job is null)
        {
            return JobsApi.NotFound(model);
        }
        if (job.Status != JobStatus.Succeeded)
        {
            return TypedResults.Problem(statusCode: 409, title: "Model not ready",
                detail: $"Job {model} is {job.Status.ToApiName()}; inference needs a succeeded job.");
        }
        var image = await ReadImageAsync(http.Request, limits.Value.MaxImageBytes, ct);
        if (image is null)
        {
            return TypedResults.Problem(statusCode: 400, title: "Image missing",
                detail: "Send a PNG or JPEG as the multipart field 'image' or as the raw request body.");
        }

        var loaded = cache.Get(job.Id);
        var input = engine.Preprocess(image, loaded.Preprocessing, limits.Value.MaxImagePixels);
        var clock = Stopwatch.StartNew();
        var scores = loaded.Run(input);
        var latency = clock.Elapsed.TotalMilliseconds;

        if (InferTask.Of(job) == ModelTask.Features)
        {
            return TypedResults.Ok(InferTask.FeatureAnswer(job.Id, loaded.Engine, latency, scores));
        }
        var probabilities = Metrics.Softmax(scores);
        var predictions = Metrics.TopK(scores, Math.Min(topk, scores.Length))
            .Select(i => new Prediction(i, loaded.Labels is { } l && i < l.Count ? l[i] : null, probabilities[i]))
            .ToList();
        return TypedResults.Ok(new InferResponse(job.Id, loaded.Engine, latency, predictions));
    }

    /// <summary>The body as documented: multipart with an `image` file, or raw image bytes (the handler reads it itself).</summary>
    private static OpenApiRequestBody ImageRequestBody()
    {
        var binary = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
        return new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["multipart/form-data"] = new()
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Required = new HashSet<string> { "image" },
                        Properties = new Dictionary<string, IOpenApiSchema> { ["image"] = binary },
                    },
                },
                ["image/png"] = new() { Schema = binary },
                ["image/jpeg"] = new() { Schema = binary },
                ["application/octet-stream"] = new() { Schema = binary },
            },
        };
    }

    /// <summary>The image of the request, read straight from the body (multipart field `image`, or raw bytes), at most <paramref name="maxBytes"/>.</summary>
    private static async Task<byte[]?> ReadImageAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        if (!MultipartStreaming.IsMultipart(request))
        {
            return await ReadBoundedAsync(request.Body, maxBytes, ct);
        }
        await foreach (var part in MultipartStreaming.ReadAsync(request, ct))
        {
            if (part.Name == "image")
            {
                return await ReadBoundedAsync(part.Body, maxBytes, ct);
            }
        }
        return null;
    }

    private static async Task<byte[]?> ReadBoundedAsync(Stream source, long maxBytes, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new BadHttpRequestException($"The image is larger than the limit of {maxBytes} bytes.", StatusCodes.Status413PayloadTooLarge);
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.Length == 0 ? null : buffer.ToArray();
    }
}
