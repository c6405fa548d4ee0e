using System.Net;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

/// <summary>Adaptation on unlabelled calibration images, and where fidelity inputs come from.</summary>
public sealed class AdaptationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<JobResponse> RunAsync(MultipartFormDataContent form)
    {
        await using var app = new ServiceApp(_dir.Path);
        var client = app.CreateClient();
        var post = await client.PostAsync("/quantize", form);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var job = await ServiceApp.WaitAsync(client, (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id);
        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        return job;
    }

    [Fact]
    public async Task Adaptation_with_calibration_and_evaluation_reports_accuracy_with_and_without_it()
    {
        var calibration = TestInputs.Zip(Enumerable.Range(0, 12).Select(i => ($"any/where/{i}.png", TestInputs.Png(16, 16, 100 + i))).ToArray());
        var job = await RunAsync(TestInputs.Form(TestInputs.TinyCnn(), TestInputs.EvaluationZip(10, 1), calibration, options: """{"adapt":true,"weightBits":3}"""));

        Assert.True(job.Options!.Adapt);
        Assert.Equal("evaluation", job.Report!.FidelityInputs);
        Assert.Equal(10, job.Report.Accuracy!.Samples);
        Assert.Contains(job.Report.Notes, n => n.StartsWith("Without adaptation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_evaluation_images_fidelity_uses_the_calibration_images()
    {
        var calibration = TestInputs.Zip(Enumerable.Range(0, 5).Select(i => ($"{i}.png", TestInputs.Png(16, 16, i))).ToArray());
        var job = await RunAsync(TestInputs.Form(TestInputs.TinyCnn(), calibration: calibration));

        Assert.Equal("calibration", job.Report!.FidelityInputs);
        Assert.Equal(5, job.Report.Fidelity!.Samples);
        Assert.Null(job.Report.Accuracy);
    }

    [Fact]
    public async Task Adapt_without_calibration_says_so_and_uses_synthetic_inputs()
    {
        var job = await RunAsync(TestInputs.Form(TestInputs.TinyCnn(), options: """{"adapt":true}"""));

        Assert.Equal("synthetic", job.Report!.FidelityInputs);
        Assert.Equal(4, job.Report.Fidelity!.Samples); // Jobs:SyntheticSamples of the test app
        Assert.Contains(job.Report.Notes, n => n.Contains("no calibration images", StringComparison.Ordinal));
    }
}
