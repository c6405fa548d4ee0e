using System.Text.Json;
using DSConvService.Api.Contracts;
using DSConvService.Core.Reports;
using DSConvService.Worker.Jobs;

namespace DSConvService.Api.Inference;

/// <summary>How /infer answers for a job's model: top-k classes, or the feature vector of a feature model.</summary>
public static class InferTask
{
    /// <summary>The job's resolved option "task" ("classify" for jobs stored before the option existed).</summary>
    public static string Of(Job job) =>
        JsonSerializer.Deserialize<QuantizeOptions>(job.OptionsJson, OptionsResolver.Json)?.Task ?? ModelTask.Classify;

    public static InferResponse FeatureAnswer(string model, string engine, double latencyMs, float[] features)
    {
        double sum = 0;
        foreach (var v in features)
        {
            sum += (double)v * v;
        }
        return new InferResponse(model, engine, latencyMs, [], ModelTask.Features, features, Math.Sqrt(sum));
    }
}
