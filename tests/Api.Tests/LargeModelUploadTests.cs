using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using DSConvService.Worker.Jobs;
using Microsoft.AspNetCore.Mvc.Testing;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Api.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasurements
{
    /// <summary>Tests that count the whole process's allocations: alone, so other tests do not add theirs.</summary>
    public const string Name = "allocation measurements";
}

/// <summary>
/// Issue 9: a large model upload does not need its size in memory. The upload is streamed to storage
/// and the submission check reads the model's structure only, so the bytes the whole process allocates
/// while a 256 MiB model is submitted stay far below 256 MiB.
/// </summary>
[Collection(AllocationMeasurements.Name)]
public sealed class LargeModelUploadTests(ITestOutputHelper output) : IDisposable
{
    private const long AllowedAllocation = 48L << 20;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ServiceApp App() => new(Path.Combine(_dir.Path, "data"), new() { ["Jobs:RunWorker"] = "false" });

    [Fact]
    public async Task A_model_with_a_256_MiB_weight_is_accepted_without_being_held_in_memory()
    {
        var warmup = _dir.File("warmup.onnx");
        LargeModelFile.Write(warmup, 8, 8, 4096);
        var path = _dir.File("large.onnx");
        var rawBytes = LargeModelFile.Write(path, 64, 64, 16384);
        await using var app = App();
        var client = Client(app);
        using (var response = await PostFileAsync(client, warmup))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var before = GC.GetTotalAllocatedBytes(precise: true);
        using var post = await PostFileAsync(client, path);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"model {new FileInfo(path).Length:N0} bytes (weight {rawBytes:N0}); the process allocated {allocated:N0} bytes while submitting it");

        Assert.True(post.StatusCode == HttpStatusCode.Accepted, await post.Content.ReadAsStringAsync());
        var job = (await post.Content.ReadFromJsonAsync<JobResponse>(ServiceApp.Json))!;
        Assert.Equal("queued", job.Status);
        Assert.True(allocated < AllowedAllocation, $"{allocated:N0} bytes allocated for a {rawBytes:N0}-byte weight");
    }

    [Fact]
    public async Task The_defaults_of_a_model_with_a_256_MiB_weight_are_answered_without_holding_it()
    {
        var warmup = _dir.File("warmup.onnx");
        LargeModelFile.Write(warmup, 8, 8, 4096);
        var path = _dir.File("large.onnx");
        var rawBytes = LargeModelFile.Write(path, 64, 64, 16384);
        await using var app = App();
        var client = Client(app);
        using (var response = await PostFileAsync(client, warmup, "/quantize/defaults"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var before = GC.GetTotalAllocatedBytes(precise: true);
        using var post = await PostFileAsync(client, path, "/quantize/defaults");
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"model {new FileInfo(path).Length:N0} bytes; the process allocated {allocated:N0} bytes answering its defaults");

        Assert.True(post.StatusCode == HttpStatusCode.OK, await post.Content.ReadAsStringAsync());
        var options = (await post.Content.ReadFromJsonAsync<QuantizeOptions>(ServiceApp.Json))!;
        Assert.Equal(64, options.Preprocessing!.Width);
        Assert.True(allocated < AllowedAllocation, $"{allocated:N0} bytes allocated for a {rawBytes:N0}-byte weight");
    }

    [Fact]
    public async Task A_truncated_large_model_is_refused_as_not_an_onnx_model()
    {
        var path = _dir.File("truncated.onnx");
        LargeModelFile.Write(path, 64, 64, 1024);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(file.Length / 2);
        }
        await using var app = App();
        using var response = await PostFileAsync(Client(app), path);
        await Problems.AssertAsync(response, HttpStatusCode.BadRequest, "not an ONNX model");
    }

    // The factory's redirect handler copies every request body into memory (to resend it); without redirects it is not added.
    private static HttpClient Client(ServiceApp app) => app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    private static async Task<HttpResponseMessage> PostFileAsync(HttpClient client, string path, string endpoint = "/quantize")
    {
        await using var file = File.OpenRead(path);
        var content = new StreamContent(file, 1 << 16);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var form = new MultipartFormDataContent { { content, "model", "model.onnx" } };
        return await client.PostAsync(endpoint, form);
    }
}
