using System.Net;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

/// <summary>Every bad input of DESIGN 6 gets a 4xx problem with a message a person can act on.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly byte[] _model = TestInputs.TinyCnn();

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

    private async Task<HttpResponseMessage> PostAsync(MultipartFormDataContent form, Dictionary<string, string?>? settings = null)
    {
        await using var app = App(settings);
        return await app.CreateClient().PostAsync("/quantize", form);
    }

    [Fact]
    public async Task A_file_that_is_not_onnx() =>
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(TestInputs.Png(8, 8, 1))), HttpStatusCode.BadRequest, "not an ONNX model");

    [Fact]
    public async Task A_model_with_external_data() =>
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(TestInputs.WithExternalData())), HttpStatusCode.BadRequest, "external data");

    [Fact]
    public async Task A_model_with_an_unsupported_operator_names_it()
    {
        var problem = await Problems.AssertAsync(await PostAsync(TestInputs.Form(TestInputs.WithUnsupportedOperator())),
            HttpStatusCode.UnprocessableEntity, "Einsum");
        Assert.Equal("Einsum", problem.GetProperty("operator").GetString());
    }

    [Fact]
    public async Task A_missing_model() =>
        await Problems.AssertAsync(await PostAsync(new MultipartFormDataContent { { new StringContent("{}"), "options" } }),
            HttpStatusCode.BadRequest, "'model'");

    [Fact]
    public async Task A_zip_bomb()
    {
        var bomb = TestInputs.Zip(("0/a.png", new byte[8_000_000]));
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(_model, evaluation: bomb), new() { ["Limits:MaxZipExpandedBytes"] = "1000000" }),
            HttpStatusCode.BadRequest, "zip bomb");
    }

    [Fact]
    public async Task A_zip_with_path_traversal_entries() =>
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(_model, calibration: TestInputs.Zip(("../../evil.png", TestInputs.Png(8, 8, 1))))),
            HttpStatusCode.BadRequest, "unsafe entry name");

    [Fact]
    public async Task A_zip_with_too_many_entries() =>
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(_model, evaluation: TestInputs.EvaluationZip(2, 3)), new() { ["Limits:MaxZipEntries"] = "5" }),
            HttpStatusCode.BadRequest, "limit is 5");

    [Fact]
    public async Task An_evaluation_zip_that_is_not_image_folder() =>
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(_model, evaluation: TestInputs.Zip(("a.png", TestInputs.Png(8, 8, 1))))),
            HttpStatusCode.BadRequest, "ImageFolder");

    [Fact]
    public async Task An_evaluation_folder_missing_from_the_labels() =>
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(_model, evaluation: TestInputs.Zip(("cat/a.png", TestInputs.Png(8, 8, 1))), labels: "dog\nemu")),
            HttpStatusCode.BadRequest, "'cat'");

    [Fact]
    public async Task An_upload_over_the_size_limit() =>
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(_model), new() { ["Limits:MaxUploadBytes"] = "2048" }),
            HttpStatusCode.RequestEntityTooLarge, "limit");

    [Theory]
    [InlineData("""{"weightBits":12}""", "weightBits")]
    [InlineData("""{"blockSize":0}""", "blockSize")]
    [InlineData("""{"activationBits":1}""", "activationBits")]
    [InlineData("""{"kds":"l1"}""", "kds")]
    [InlineData("""{"preprocessing":{"colorMode":"rgb"}}""", "channel")]
    [InlineData("""{"preprocessing":{"width":32}}""", "does not match")]
    [InlineData("""{"preprocessing":{"mean":[0,0]}}""", "preprocessing.mean")]
    [InlineData("""{"weightBits":"four"}""", "not valid JSON")]
    [InlineData("""{"bits":4}""", "not valid JSON")]
    [InlineData("""{""", "not valid JSON")]
    public async Task Options_out_of_range_or_malformed(string options, string message) =>
        await Problems.AssertAsync(await PostAsync(TestInputs.Form(_model, options: options)), HttpStatusCode.BadRequest, message);

    [Fact]
    public async Task Bad_queries_and_unknown_jobs()
    {
        await using var app = App();
        var client = app.CreateClient();
        await Problems.AssertAsync(await client.GetAsync("/jobs/0123456789abcdef"), HttpStatusCode.NotFound, "no job");
        await Problems.AssertAsync(await client.GetAsync("/jobs?page=0"), HttpStatusCode.BadRequest, "page");
        await Problems.AssertAsync(await client.GetAsync("/jobs?pageSize=1000"), HttpStatusCode.BadRequest, "pageSize");
        await Problems.AssertAsync(await client.PostAsync("/infer", TestInputs.File([1])), HttpStatusCode.BadRequest, "model");
        await Problems.AssertAsync(await client.PostAsync("/infer?model=0123456789abcdef", TestInputs.File([1])), HttpStatusCode.NotFound, "no job");
        await Problems.AssertAsync(await client.PostAsync("/infer?model=x&topk=0", TestInputs.File([1])), HttpStatusCode.BadRequest, "topk");
        await Problems.AssertAsync(await client.GetAsync("/jobs/../../etc/passwd"), HttpStatusCode.NotFound, "");
    }
}
