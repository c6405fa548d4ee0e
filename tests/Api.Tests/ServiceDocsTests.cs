using System.Net;
using System.Text.Json;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

public sealed class ServiceDocsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_openapi_document_has_every_endpoint_and_the_swagger_ui_is_served()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        var client = app.CreateClient();

        var json = await client.GetStringAsync("/openapi/v1.json");
        var doc = JsonDocument.Parse(json).RootElement;
        var paths = doc.GetProperty("paths");
        Assert.True(paths.GetProperty("/quantize").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/jobs").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/jobs/{id}").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/jobs/{id}").TryGetProperty("delete", out _));
        Assert.True(paths.GetProperty("/jobs/{id}/artifact").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/plan").TryGetProperty("post", out var plan));
        Assert.True(plan.GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        Assert.True(paths.GetProperty("/infer").TryGetProperty("post", out var infer));
        Assert.True(infer.GetProperty("requestBody").GetProperty("content").TryGetProperty("multipart/form-data", out _));
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        foreach (var name in new[] { "JobResponse", "JobAccepted", "QuantizationReport", "InferResponse", "QuantizeOptions" })
        {
            Assert.True(schemas.TryGetProperty(name, out _), $"schema {name} missing");
        }
        Assert.Equal(4, schemas.GetProperty("QuantizeOptions").GetProperty("example").GetProperty("weightBits").GetInt32());
        var planExample = schemas.GetProperty("ModelPlan").GetProperty("example");
        Assert.Equal(["layers", "totals", "unsupportedOperators"], planExample.EnumerateObject().Select(p => p.Name));

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/index.html")).StatusCode);
    }

    [Fact]
    public async Task Health_endpoints_check_the_database_and_the_storage()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        var client = app.CreateClient();

        Assert.Equal("Healthy", await client.GetStringAsync("/health/live"));
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "jobs.db")));
    }

    [Fact]
    public async Task Invalid_settings_stop_the_service_at_start()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:MaxAttempts"] = "0" });
        var e = Assert.ThrowsAny<Exception>(() => app.CreateClient());
        Assert.Contains("MaxAttempts", e.ToString());
    }
}
