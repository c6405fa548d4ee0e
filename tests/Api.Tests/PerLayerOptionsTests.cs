using System.Net;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

/// <summary>Options "layers", "scale" and "biasCorrection" (issue 8) through the real API: refused by name when wrong, honoured end to end when right.</summary>
public sealed class PerLayerOptionsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly byte[] _model = TestInputs.TinyCnn();

    public void Dispose() => _dir.Dispose();

    private IReadOnlyList<string> LayerNames => DSConvQuantizer.QuantizableLayers(OnnxReader.Load(_model));

    private async Task<HttpResponseMessage> PostAsync(string options)
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        return await app.CreateClient().PostAsync("/quantize", TestInputs.Form(_model, options: options));
    }

    [Fact]
    public async Task An_unknown_layer_name_is_a_400_naming_it_and_the_known_layers()
    {
        var problem = await Problems.AssertAsync(await PostAsync("""{"layers":{"conv_that_is_not_there":{"weightBits":8}}}"""),
            HttpStatusCode.BadRequest, "conv_that_is_not_there");
        var text = problem.ToString();
        Assert.Contains("layers.conv_that_is_not_there", text);
        Assert.Contains(LayerNames[0], text);
    }

    [Theory]
    [InlineData("""{"layers":{"{0}":{"weightBits":9}}}""", "layers.{0}.weightBits")]
    [InlineData("""{"layers":{"{0}":{"blockSize":0}}}""", "layers.{0}.blockSize")]
    [InlineData("""{"layers":{"{0}":{"activationBits":1}}}""", "layers.{0}.activationBits")]
    [InlineData("""{"layers":{"{0}":{"bits":8}}}""", "not valid JSON")]
    [InlineData("""{"scale":"median"}""", "scale must be")]
    [InlineData("""{"biasCorrection":"yes"}""", "not valid JSON")]
    public async Task Bad_layer_settings_and_rules_are_400s_naming_the_field(string options, string message)
    {
        var name = LayerNames[0];
        await Problems.AssertAsync(await PostAsync(options.Replace("{0}", name)), HttpStatusCode.BadRequest, message.Replace("{0}", name));
    }

    [Fact]
    public async Task Layer_settings_round_trip_through_a_job_into_the_artifact_and_the_report()
    {
        await using var app = new ServiceApp(_dir.Path);
        var client = app.CreateClient();
        var names = LayerNames;
        var options = """{"weightBits":4,"blockSize":8,"scale":"max","biasCorrection":false,"layers":{"A":{"weightBits":8},"C":{"weightBits":5,"blockSize":16}}}"""
            .Replace("\"A\"", $"\"{names[0]}\"").Replace("\"C\"", $"\"{names[2]}\"");
        var post = await client.PostAsync("/quantize", TestInputs.Form(_model, options: options));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
        var job = await ServiceApp.WaitAsync(client, id);
        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");

        // The stored options are filled in per layer (missing fields from the global ones).
        var layers = job.Options!.Layers!;
        Assert.Equal((8, 8, 8), (layers[names[0]].WeightBits, layers[names[0]].BlockSize, layers[names[0]].ActivationBits));
        Assert.Equal((5, 16, 8), (layers[names[2]].WeightBits, layers[names[2]].BlockSize, layers[names[2]].ActivationBits));
        Assert.Equal("max", job.Options.Scale);

        var report = job.Report!;
        Assert.Equal([8, 4, 5], report.Layers.Select(l => l.WeightBits));
        Assert.Equal([8, 8, 16], report.Layers.Select(l => l.BlockSize));
        Assert.Equal([false, false, true], report.Layers.Select(l => l.WastesStorage));
        Assert.Equal("max", report.Quantization!.Scale);
        Assert.False(report.Quantization.BiasCorrection);
        Assert.Contains(report.Notes, n => n.Contains("INT8") && n.Contains(names[2]));

        var (_, meta) = DSConvArtifact.Load(await client.GetByteArrayAsync($"/jobs/{id}/artifact"));
        Assert.Equal(8, meta!.For(names[0]).WeightBits);
        Assert.Equal(4, meta.For(names[1]).WeightBits);
        Assert.Equal(16, meta.For(names[2]).BlockSize);
    }

    [Fact]
    public async Task Defaults_answer_the_scale_rule_and_bias_correction_and_no_layers()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        var response = await app.CreateClient().PostAsync("/quantize/defaults", TestInputs.Form(_model));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var o = (await response.Content.ReadFromJsonAsync<Worker.Jobs.QuantizeOptions>(ServiceApp.Json))!;
        Assert.Equal(QuantizationOptions.DefaultScale.Name(), o.Scale);
        Assert.Equal(QuantizationOptions.DefaultBiasCorrection, o.BiasCorrection);
        Assert.Empty(o.Layers!);
    }
}
