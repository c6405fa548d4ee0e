using DSConvService.Api.Contracts;
using DSConvService.Api.Extensions;
using DSConvService.Worker.Hosting;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline.Engine;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace DSConvService.Api.Ui;

/// <summary>POST /quantize/defaults: the options a job on this model would get when none are given (the page's form starts from them).</summary>
public static class DefaultsApi
{
    public static IEndpointRouteBuilder MapDefaultsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/quantize/defaults", GetDefaults)
            .WithName("QuantizeDefaults")
            .WithTags("Jobs")
            .WithSummary("Inspect a model and answer the options POST /quantize would fill in (preprocessing from the input shape, task from the output shape)")
            .WithDescription("multipart/form-data with the field `model` (.onnx); nothing is stored.")
            .Accepts<QuantizeForm>("multipart/form-data")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .DisableAntiforgery();
        return app;
    }

    public static async Task<Results<Ok<QuantizeOptions>, ProblemHttpResult>> GetDefaults(
        HttpRequest request, IQuantizationEngine engine, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        // Read by hand: the form binder fails on a form without the file (a 500 instead of this 400).
        var model = request.HasFormContentType ? (await request.ReadFormAsync(ct)).Files.GetFile("model") : null;
        if (model is null || model.Length == 0)
        {
            return TypedResults.Problem(statusCode: 400, title: "Model missing", detail: "Send the fp32 model as the multipart field 'model' (an .onnx file).");
        }
        if (model.Length > limits.Value.MaxUploadBytes)
        {
            return TypedResults.Problem(statusCode: 413, title: "Upload too large", detail: $"The model is larger than the limit of {limits.Value.MaxUploadBytes} bytes.");
        }
        using var saved = await TempFormFile.SaveAsync(model, ct);
        var info = engine.InspectFile(saved.Path);
        return TypedResults.Ok(OptionsResolver.Resolve(new QuantizeOptions(), info.DefaultPreprocessing, info.Task));
    }
}
