using DSConvService.Api.Contracts;
using DSConvService.Api.Extensions;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx.Structure;
using DSConvService.Core.Planning;
using DSConvService.Core.Reports;
using DSConvService.Worker.Hosting;
using DSConvService.Worker.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace DSConvService.Api.Apis;

/// <summary>POST /plan: what a quantization job with these options would do, answered at once with no job (Core's <see cref="Planner"/>).</summary>
public static class PlanApi
{
    // A plan with a target runs the policy (whole-model runs): one at a time, so parallel plans do not starve the jobs.
    private static readonly SemaphoreSlim Planning = new(1, 1);

    public static IEndpointRouteBuilder MapPlanApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/plan", Plan)
            .WithName("Plan")
            .WithTags("Plan")
            .WithSummary("Plan a quantization without running a job: per layer shapes, MACs, settings, kernel path and bytes; totals; unsupported operators")
            .WithDescription("multipart/form-data: `model` (.onnx, required), `options` (the JSON of POST /quantize), e.g. " + ApiDocsExtensions.PlanOptionsExampleJson +
                             ". Without a target nothing is fitted and the answer is quick; with a `target` the precision policy runs on synthetic inputs and the plan shows its choice.")
            .Accepts<PlanForm>("multipart/form-data")
            .Produces<ModelPlan>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .DisableAntiforgery();
        return app;
    }

    public static async Task<Results<Ok<ModelPlan>, ProblemHttpResult>> Plan(HttpRequest request, IOptions<LimitsOptions> limits, IOptions<JobRunnerOptions> runner, CancellationToken ct)
    {
        // Read by hand: the form binder fails on a form without the file (a 500 instead of this 400).
        var form = request.HasFormContentType ? await request.ReadFormAsync(ct) : null;
        var model = form?.Files.GetFile("model");
        if (model is null || model.Length == 0)
        {
            return TypedResults.Problem(statusCode: 400, title: "Model missing", detail: "Send the fp32 model as the multipart field 'model' (an .onnx file).");
        }
        if (model.Length > limits.Value.MaxUploadBytes)
        {
            return TypedResults.Problem(statusCode: 413, title: "Upload too large", detail: $"The model is larger than the limit of {limits.Value.MaxUploadBytes} bytes.");
        }
        // Read structurally from a file: the weights are read only where the planner uses them, once.
        using var saved = await TempFormFile.SaveAsync(model, ct);
        var fp32 = OnnxStructureReader.Load(saved.Path);
        var options = OptionsResolver.Resolve(OptionsResolver.Parse(form!["options"].FirstOrDefault()), PreprocessingDefaults.FromModel(fp32), ModelTask.Detect(fp32));
        await Planning.WaitAsync(ct);
        try
        {
            var plan = await Task.Run(() => Planner.Plan(fp32, model.Length, OptionsResolver.ToQuantization(options), OptionsResolver.ToPreprocessing(options),
                threads: runner.Value.Threads, ct: ct), ct);
            return TypedResults.Ok(plan);
        }
        finally
        {
            Planning.Release();
        }
    }
}
