using System.Net;
using System.Net.Http.Json;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

public sealed class ApiKeyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ServiceApp App() => new(_dir.Path, new()
    {
        ["Jobs:RunWorker"] = "false",
        ["ApiKeys:alice"] = "alice-key-0123",
        ["ApiKeys:bob"] = "bob-key-456789",
    });

    private static HttpClient As(ServiceApp app, string? key)
    {
        var client = app.CreateClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }
        return client;
    }

    [Fact]
    public async Task Without_a_valid_key_everything_but_health_is_refused()
    {
        await using var app = App();
        await Problems.AssertAsync(await As(app, null).GetAsync("/jobs"), HttpStatusCode.Unauthorized, "X-Api-Key");
        await Problems.AssertAsync(await As(app, "wrong-key-000").GetAsync("/jobs"), HttpStatusCode.Unauthorized, "X-Api-Key");
        await Problems.AssertAsync(await As(app, null).PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn())), HttpStatusCode.Unauthorized, "X-Api-Key");
        Assert.Equal(HttpStatusCode.OK, (await As(app, null).GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await As(app, null).GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task A_key_sees_only_its_own_jobs()
    {
        await using var app = App();
        var alice = As(app, "alice-key-0123");
        var bob = As(app, "bob-key-456789");
        var post = await alice.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn()));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/jobs/{id}")).StatusCode);
        await Problems.AssertAsync(await bob.GetAsync($"/jobs/{id}"), HttpStatusCode.NotFound, id);
        await Problems.AssertAsync(await bob.GetAsync($"/jobs/{id}/artifact"), HttpStatusCode.NotFound, id);
        await Problems.AssertAsync(await bob.DeleteAsync($"/jobs/{id}"), HttpStatusCode.NotFound, id);
        await Problems.AssertAsync(await bob.PostAsync($"/infer?model={id}", TestInputs.File(TestInputs.Png(16, 16, 1))), HttpStatusCode.NotFound, id);
        Assert.Equal(0, (await bob.GetFromJsonAsync<JobListResponse>("/jobs", ServiceApp.Json))!.Total);
        Assert.Equal(1, (await alice.GetFromJsonAsync<JobListResponse>("/jobs", ServiceApp.Json))!.Total);
        Assert.Equal("queued", (await alice.GetFromJsonAsync<JobResponse>($"/jobs/{id}", ServiceApp.Json))!.Status);
    }
}
