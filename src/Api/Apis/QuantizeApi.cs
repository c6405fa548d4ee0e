using DSConvService.Api.Contracts;
using DSConvService.Api.Extensions;
using DSConvService.Worker.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

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
            .DisableAntiforgery();
        return app;
    }

    /// <summary>Stores and checks the uploads, then queues the job: 202 with its id and Location /jobs/{id}.</summary>
    public static async Task<Results<Accepted<JobAccepted>, ProblemHttpResult>> Quantize(
        [FromForm] QuantizeForm form, HttpContext http, JobSubmitter submitter, CancellationToken ct)
    {
        if (form.Model is null || form.Model.Length == 0)
        {
            return TypedResults.Problem(statusCode: 400, title: "Model missing",
                detail: "Send the fp32 model as the multipart field 'model' (an .onnx file).");
        }
        await using var model = form.Model.OpenReadStream();
        await using var calibration = form.Calibration?.OpenReadStream();
        await using var evaluation = form.Evaluation?.OpenReadStream();
        await using var labels = form.Labels?.OpenReadStream();
        var job = await submitter.SubmitAsync(new JobSubmission
        {
            Model = model,
            ModelFileName = form.Model.FileName,
            Calibration = calibration,
            Evaluation = evaluation,
            Labels = labels,
            OptionsJson = form.Options,
            Owner = http.Owner(),
        }, ct);
        return TypedResults.Accepted($"/jobs/{job.Id}", new JobAccepted(job.Id, job.Status.ToApiName()));
    }
}
