using System.Net;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.Core.Onnx;
using DSConvService.Core.Reports;
using DSConvService.TestSupport;
using DSConvService.Core.Evaluation;
using DSConvService.Core.Imaging;
using Xunit;

namespace DSConvService.Api.Tests.Ui;

/// <summary>Models whose output is a feature vector are not shown as classifiers (issue 11, item 3).</summary>
public sealed class FeatureModelTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_feature_map_output_makes_a_feature_model_without_class_metrics()
    {
        await using var app = new ServiceApp(_dir.Path);
        var client = app.CreateClient();
        var model = UiModels.FeatureExtractor();
        var post = await client.PostAsync("/quantize", TestInputs.Form(model, TestInputs.EvaluationZip(classes: 2, perClass: 2)));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var job = await ServiceApp.WaitAsync(client, (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id);
        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");

        Assert.Equal(ModelTask.Features, job.Options!.Task);
        var report = job.Report!;
        Assert.Equal(ModelTask.Features, report.Task);
        Assert.Null(report.Accuracy);
        Assert.Null(report.Fidelity!.Top1Agreement);
        Assert.Null(report.Fidelity.MeanKl);
        Assert.InRange(report.Fidelity.Cosine, 0.5, 1.0000001);
        var raw = await client.GetStringAsync($"/jobs/{job.Id}");
        Assert.Contains("\"top1Agreement\":null", raw);
        var html = await client.GetStringAsync($"/jobs/{job.Id}/report.html");
        Assert.Contains("Feature model", html);
        Assert.DoesNotContain("id=\"top1-agreement\"", html);
        Assert.DoesNotContain("id=\"accuracy\"", html);

        // /infer answers with the vector and its norm, computed by the quantized model; no softmax, no top-k.
        var image = TestInputs.Png(16, 16, 3);
        var inferred = await client.PostAsync($"/infer?model={job.Id}", new MultipartFormDataContent { { TestInputs.File(image), "image", "x.png" } });
        Assert.Equal(HttpStatusCode.OK, inferred.StatusCode);
        var answer = (await inferred.Content.ReadFromJsonAsync<InferResponse>(ServiceApp.Json))!;
        Assert.Equal(ModelTask.Features, answer.Task);
        Assert.Empty(answer.Predictions);
        Assert.Equal(UiModels.FeatureChannels, answer.Features!.Count);
        Assert.Equal(Math.Sqrt(answer.Features.Sum(v => (double)v * v)), answer.Norm!.Value, 9);

        // The vector is the model's: close to ONNX Runtime's fp32 output for the same preprocessed image.
        var expected = OrtFeatures(model, image, Worker.Jobs.OptionsResolver.ToPreprocessing(job.Options));
        var dot = expected.Zip(answer.Features, (a, b) => (double)a * b).Sum();
        var cosine = dot / (Math.Sqrt(expected.Sum(v => (double)v * v)) * answer.Norm.Value);
        Assert.True(cosine > 0.95, $"cosine {cosine} between the served vector and ONNX Runtime's");
    }

    [Fact]
    public async Task The_task_option_overrides_the_detection_and_is_checked()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        var client = app.CreateClient();
        async Task<string?> TaskOf(byte[] model, string options)
        {
            var post = await client.PostAsync("/quantize", TestInputs.Form(model, options: options));
            Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
            return (await client.GetFromJsonAsync<JobResponse>(post.Headers.Location!.OriginalString, ServiceApp.Json))!.Options!.Task;
        }
        Assert.Equal(ModelTask.Classify, await TaskOf(TestInputs.TinyCnn(), "{}"));
        Assert.Equal(ModelTask.Features, await TaskOf(TestInputs.TinyCnn(), """{"task":"features"}"""));
        Assert.Equal(ModelTask.Features, await TaskOf(UiModels.FeatureExtractor(), "{}"));
        Assert.Equal(ModelTask.Classify, await TaskOf(UiModels.FeatureExtractor(), """{"task":"classify"}"""));
        await Problems.AssertAsync(await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn(), options: """{"task":"detect"}""")),
            HttpStatusCode.BadRequest, "task must be");
    }

    [Fact]
    public void The_imagenet_resnet18_featurizer_is_detected_as_a_feature_model()
    {
        Assert.True(File.Exists(TestData.ResNet18), "the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 copies ResNet18.onnx to the output folder");
        Assert.Equal(ModelTask.Features, ModelTask.Detect(OnnxReader.Load(File.ReadAllBytes(TestData.ResNet18))));
    }

    private static float[] OrtFeatures(byte[] model, byte[] png, Core.Imaging.PreprocessingOptions preprocessing)
    {
        using var ort = new OrtReference(model, 1);
        return ort.Run(new ImagePreprocessor(preprocessing).Process(png))[0].Floats;
    }
}
