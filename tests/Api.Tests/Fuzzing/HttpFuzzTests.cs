using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using CsCheck;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Api.Tests.Fuzzing;

/// <summary>
/// Mutated inputs through the real HTTP pipeline: models, dataset zips and options to POST /quantize,
/// images to POST /infer, and raw multipart bodies. Every answer is a success or a 4xx/507 problem,
/// never a 500.
/// </summary>
public sealed class HttpFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Requests = 200;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Mutated_submissions_never_get_a_500()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        var client = app.CreateClient();
        var submissions = Gen.Select(Mutations.Of(TestInputs.TinyCnn()), Mutations.Of(TestInputs.EvaluationZip(3, 2)),
            Mutations.OfText("""{"preprocessing":{"colorMode":"gray","width":16,"height":16},"blockSize":32}"""), Gen.Int[0, 3]);
        var inputs = submissions.Array[Requests].Single();

        var statuses = new List<HttpStatusCode>();
        foreach (var (model, zip, options, shape) in inputs)
        {
            var form = TestInputs.Form(shape == 0 ? TestInputs.TinyCnn() : model, evaluation: shape >= 2 ? zip : null, options: shape is 1 or 3 ? options : null);
            statuses.Add(await PostAsync(client, "/quantize", form));
        }

        Report(statuses);
        Assert.DoesNotContain(statuses, s => (int)s >= 500 && s != HttpStatusCode.InsufficientStorage);
        Assert.Contains(HttpStatusCode.Accepted, statuses);
        Assert.Contains(HttpStatusCode.BadRequest, statuses);
    }

    [Fact]
    public async Task Mutated_images_and_multipart_bodies_never_get_a_500()
    {
        await using var app = new ServiceApp(_dir.Path);
        var client = app.CreateClient();
        var post = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn()));
        var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
        Assert.Equal("succeeded", (await ServiceApp.WaitAsync(client, id)).Status);

        // The unmutated image is answered: the mutations below reach a model that works (whether any mutated
        // image still decodes is up to the draw, so that is not asserted).
        var original = TestInputs.Png(16, 16, 3);
        Assert.Equal(HttpStatusCode.OK, await PostAsync(client, $"/infer?model={id}", TestInputs.File(original)));
        var statuses = new List<HttpStatusCode>();
        foreach (var image in Mutations.Of(original).Array[Requests].Single())
        {
            statuses.Add(await PostAsync(client, $"/infer?model={id}", TestInputs.File(image)));
        }
        var raw = await ReadRawAsync(TestInputs.Form(TestInputs.TinyCnn(), options: "{}"));
        foreach (var body in Mutations.Of(raw.Body).Array[Requests / 3].Single())
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(raw.ContentType);
            statuses.Add(await PostAsync(client, "/quantize", content));
        }

        Report(statuses);
        Assert.DoesNotContain(statuses, s => (int)s >= 500 && s != HttpStatusCode.InsufficientStorage);
        Assert.Contains(HttpStatusCode.BadRequest, statuses);
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient client, string url, HttpContent content)
    {
        using var response = await client.PostAsync(url, content);
        if ((int)response.StatusCode >= 400)
        {
            // Every refusal is a problem document.
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        return response.StatusCode;
    }

    private static async Task<(byte[] Body, string ContentType)> ReadRawAsync(HttpContent content) =>
        (await content.ReadAsByteArrayAsync(), content.Headers.ContentType!.ToString());

    private void Report(List<HttpStatusCode> statuses) =>
        output.WriteLine($"{statuses.Count} requests: " + string.Join(", ", statuses.GroupBy(s => (int)s).OrderBy(g => g.Key).Select(g => $"{g.Key} x{g.Count()}")));
}
