using System.Net;
using System.Text.Json;
using DSConvService.Api.Tests.Support;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

/// <summary>POST /plan over real HTTP: the plan's shape, its estimate against a real artifact, bad input as problems, API keys.</summary>
public sealed class PlanApiTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ServiceApp App(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?> { ["Jobs:RunWorker"] = "false" };
        foreach (var (k, v) in extra ?? [])
        {
            settings[k] = v;
        }
        return new ServiceApp(_dir.Path, settings);
    }

    private static MultipartFormDataContent Form(byte[] model, string? options = null) => TestInputs.Form(model, options: options);

    [Fact]
    public async Task A_plan_has_layers_totals_and_unsupported_operators_and_no_job_is_made()
    {
        await using var app = App();
        var client = app.CreateClient();
        var response = await client.PostAsync("/plan", Form(TestInputs.TinyCnn(), """{"weightBits":8,"blockSize":8}"""));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        Assert.Equal(["layers", "totals", "unsupportedOperators"], root.EnumerateObject().Select(p => p.Name));
        var layers = root.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(["Conv", "Conv", "Gemm"], layers.Select(l => l.GetProperty("op").GetString()));
        Assert.All(layers, l => Assert.Equal(8, l.GetProperty("settings").GetProperty("blockSize").GetInt32()));
        Assert.Equal([1, 8, 16, 16], layers[0].GetProperty("outputShape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(8L * 9 * 16 * 16, layers[0].GetProperty("macs").GetInt64());
        Assert.Equal("integer", layers[1].GetProperty("kernelPath").GetProperty("path").GetString());
        Assert.Empty(root.GetProperty("unsupportedOperators").EnumerateArray());

        // The estimate against the artifact of the same options.
        var quantized = DSConvQuantizer.Quantize(OnnxReader.Load(TestInputs.TinyCnn()), new QuantizationOptions { WeightBits = 8, BlockSize = 8 });
        var fp32 = OnnxReader.Load(TestInputs.TinyCnn());
        var artifact = quantized.ToArtifactBytes(PreprocessingDefaults.FromModel(fp32)).LongLength;
        var estimated = root.GetProperty("totals").GetProperty("estimatedBytes").GetInt64();
        Assert.InRange(estimated, artifact * 0.99, artifact * 1.01);

        var jobs = JsonDocument.Parse(await client.GetStringAsync("/jobs")).RootElement;
        Assert.Equal(0, jobs.GetProperty("total").GetInt32());
    }

    [SkippableFact]
    public async Task A_real_model_with_a_target_shows_the_policys_choice()
    {
        var model = File.ReadAllBytes(TestData.SharedFile("models/lenet_bn.onnx"));
        await using var app = App();
        var response = await app.CreateClient().PostAsync("/plan", Form(model, """{"target":{"cosine":0.99,"minCompression":4}}"""));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var root = JsonDocument.Parse(body).RootElement;
        var layers = root.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(5, layers.Count);
        // Each layer was measured (4-bit weights change LeNet's output somewhere) and got one of the policy's formats.
        Assert.Contains(layers, l => l.GetProperty("sensitivity").GetDouble() > 0);
        Assert.All(layers, l => Assert.Contains(
            (l.GetProperty("settings").GetProperty("weightBits").GetInt32(), l.GetProperty("settings").GetProperty("blockSize").GetInt32()),
            DSConvService.Core.Policy.PrecisionPolicy.Formats));
        Assert.True(root.GetProperty("totals").GetProperty("compressionRatio").GetDouble() >= 4);
    }

    [Fact]
    public async Task A_job_with_a_target_reports_the_policy_chosen_on_synthetic_inputs_not_the_evaluation_images()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Limits:MaxImagePixels"] = "1000000" });
        var client = app.CreateClient();
        var post = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn(), TestInputs.EvaluationZip(classes: 10, perClass: 1),
            options: """{"target":{"cosine":0.9,"minCompression":2}}"""));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var job = await ServiceApp.WaitAsync(client, post.Headers.Location!.OriginalString.Split('/')[^1]);
        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        Assert.Equal(0.9, job.Options!.Target!.Cosine);
        var report = job.Report!;
        var policy = report.Policy!;
        Assert.Equal("synthetic", policy.SelectionInputs);
        Assert.Equal("evaluation", report.FidelityInputs);
        Assert.True(policy.Met, string.Join(" ", report.Notes));
        Assert.Equal(report.Layers.Select(l => (l.Name, l.WeightBits, l.BlockSize)), policy.Layers.Select(l => (l.Name, l.WeightBits, l.BlockSize)));
        Assert.True(report.Model.CompressionRatio >= 2);
    }

    [Fact]
    public async Task An_unsupported_operator_is_listed_not_refused()
    {
        await using var app = App();
        var response = await app.CreateClient().PostAsync("/plan", Form(TestInputs.WithUnsupportedOperator()));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal(["Einsum"], JsonDocument.Parse(body).RootElement.GetProperty("unsupportedOperators").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("""{"target":{"cosine":1.5}}""", "target.cosine must be in (0, 1]")]
    [InlineData("""{"target":{"cosine":0}}""", "target.cosine must be in (0, 1]")]
    [InlineData("""{"target":{"minCompression":0.5}}""", "target.minCompression must be at least 1")]
    [InlineData("""{"target":{}}""", "is needed when a target is given")]
    [InlineData("""{"weightBits":12}""", "weightBits must be between")]
    [InlineData("""{"target":{"cosine":"high"}}""", "not valid JSON")]
    public async Task Bad_options_are_400_problems(string options, string detail)
    {
        await using var app = App();
        var client = app.CreateClient();
        var problem = await Problems.AssertAsync(await client.PostAsync("/plan", Form(TestInputs.TinyCnn(), options)), HttpStatusCode.BadRequest, "");
        Assert.Contains(detail, problem.ToString());
        // The same options refused by POST /quantize.
        var quantize = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn(), options: options));
        Assert.Equal(HttpStatusCode.BadRequest, quantize.StatusCode);
        Assert.Contains(detail, await quantize.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_missing_or_broken_model_is_a_400_problem()
    {
        await using var app = App();
        var client = app.CreateClient();
        await Problems.AssertAsync(await client.PostAsync("/plan", new MultipartFormDataContent { { new StringContent("{}"), "options" } }),
            HttpStatusCode.BadRequest, "'model'");
        await Problems.AssertAsync(await client.PostAsync("/plan", Form(TestInputs.Png(8, 8, 1))), HttpStatusCode.BadRequest, "not an ONNX model");
    }

    [Fact]
    public async Task With_api_keys_a_plan_needs_one()
    {
        await using var app = App(new() { ["ApiKeys:alice"] = "alice-key-0123" });
        var client = app.CreateClient();
        await Problems.AssertAsync(await client.PostAsync("/plan", Form(TestInputs.TinyCnn())), HttpStatusCode.Unauthorized, "X-Api-Key");
        client.DefaultRequestHeaders.Add("X-Api-Key", "alice-key-0123");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/plan", Form(TestInputs.TinyCnn()))).StatusCode);
    }
}
