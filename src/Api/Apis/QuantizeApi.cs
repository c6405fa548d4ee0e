using DSConvService.Api.Contracts;
using DSConvService.Api.Extensions;
using DSConvService.Worker.Artifacts;
using DSConvService.Worker.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace DSConvService.Api.Apis;

public static class QuantizeApi
{
    public static IEndpointRouteBuilder MapQuantizeApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/quantize", Quantize)
            .WithName("Quantize")
            .WithTags("Jobs")
            .WithSummary("Upload a model (and optional calibration / evaluation images) and start a quantization job")
            .WithDescription("multipart/form-data: `model` (.onnx, required), `calibration` (zip, any layout), `evaluation` (zip, <class>/<file>), " +
                             "`labels` (text, one class per line), `options` (JSON), e.g. " + ApiDocsExtensions.OptionsExampleJson)
            .Accepts<QuantizeForm>("multipart/form-data")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status507InsufficientStorage)
            .DisableAntiforgery();
        return app;
    }

    /// <summary>
    /// Streams each file of the form straight to the job's upload slot (no buffering of whole files,
    /// no temp files of the framework), checks them, then queues the job: 202 with its id and Location /jobs/{id}.
    /// </summary>
    public static async Task<Results<Accepted<JobAccepted>, ProblemHttpResult>> Quantize(
        HttpContext http, JobSubmitter submitter, CancellationToken ct)
    {
        await using var session = submitter.Begin();
        string? options = null, modelFileName = null;
        await foreach (var part in MultipartStreaming.ReadAsync(http.Request, ct))
        {
            var kind = part.Name switch
            {
                "model" => UploadKind.Model,
                "calibration" => UploadKind.Calibration,
                "evaluation" => UploadKind.Evaluation,
                "labels" => UploadKind.Labels,
                _ => (UploadKind?)null,
            };
            if (kind is { } k)
            {
                if (session.Has(k))
                {
                    return TypedResults.Problem(statusCode: 400, title: "Duplicate field", detail: $"The form has more than one '{part.Name}' field; send each file once.");
                }
                await session.SaveAsync(k, part.Body, ct);
                if (k == UploadKind.Model)
                {
                    modelFileName = part.FileName;
                }
            }
            else if (part.Name == "options")
            {
                options = await part.ReadTextAsync(MultipartStreaming.MaxTextFieldBytes, ct);
            }
        }
        if (session.Saved(UploadKind.Model) is not { Bytes: > 0 })
        {
            return TypedResults.Problem(statusCode: 400, title: "Model missing",
                detail: "Send the fp32 model as the multipart field 'model' (an .onnx file).");
        }
        var job = await submitter.CompleteAsync(session, options, modelFileName, http.Owner(), ct);
        return TypedResults.Accepted($"/jobs/{job.Id}", new JobAccepted(job.Id, job.Status.ToApiName()));
    }
}
