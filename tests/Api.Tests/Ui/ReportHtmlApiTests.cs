using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.ReportHtml.Charts;
using DSConvService.Worker.Jobs;
using Xunit;

namespace DSConvService.Api.Tests.Ui;

/// <summary>GET /jobs/{id}/report.html, POST /quantize/defaults and the pages over real HTTP (WebApplicationFactory).</summary>
public sealed class ReportHtmlApiTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<JobResponse> RunJobAsync(HttpClient client, byte[] model, string? options = null, byte[]? evaluation = null)
    {
        var post = await client.PostAsync("/quantize", TestInputs.Form(model, evaluation, options: options));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
        var job = await ServiceApp.WaitAsync(client, id);
        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        return job;
    }

    internal static int Marks(string html, string chart, string color)
    {
        var figure = Regex.Match(html, $"<figure class=\"chart\" data-chart=\"{chart}\"[^>]*>(.*?)</figure>", RegexOptions.Singleline);
        Assert.True(figure.Success, $"no {chart} chart");
        return Regex.Matches(figure.Groups[1].Value, $"<rect fill=\"{color}\"").Count;
    }

    [Fact]
    public async Task A_succeeded_job_has_a_standalone_html_report_with_one_mark_per_layer()
    {
        await using var app = new ServiceApp(_dir.Path);
        var client = app.CreateClient();
        var job = await RunJobAsync(client, TestInputs.TinyCnn(), """{"blockSize":8}""", TestInputs.EvaluationZip(classes: 10, perClass: 1));

        var response = await client.GetAsync($"/jobs/{job.Id}/report.html");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        var layers = job.Report!.Layers;
        Assert.Equal(3, layers.Count);
        Assert.Equal(layers.Count, Marks(html, "layers", ChartColors.WeightSqnr));
        Assert.Equal(layers.Count(l => l.OutputSqnrDb is not null), Marks(html, "layers", ChartColors.OutputSqnr));
        Assert.Equal(1, Marks(html, "latency", ChartColors.Fp32));
        Assert.Equal(1, Marks(html, "latency", ChartColors.Quantized));
        Assert.Equal(1, Marks(html, "size", ChartColors.Quantized));
        foreach (var layer in layers)
        {
            Assert.Contains($"<td>{layer.Name}</td>", html);
        }
        Assert.Contains("model.onnx", html);
        Assert.Contains($"{job.Report.Accuracy!.Samples}</strong> labelled evaluation images", html);
        Assert.Contains($"/jobs/{job.Id}/artifact\"", html);

        // One file: no script, no stylesheet link, no image or font fetched from anywhere.
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotMatch(new Regex("(src|@import|url\\()\\s*=?\\s*[\"']?(https?:)?//"), html);
    }

    [Fact]
    public async Task The_report_html_of_an_unfinished_or_unknown_job_is_a_problem()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        var client = app.CreateClient();
        var post = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn()));
        var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;

        await Problems.AssertAsync(await client.GetAsync($"/jobs/{id}/report.html"), HttpStatusCode.Conflict, "queued");
        await Problems.AssertAsync(await client.GetAsync("/jobs/nope/report.html"), HttpStatusCode.NotFound, "nope");
    }

    [Fact]
    public async Task Defaults_are_what_a_job_without_options_gets()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false" });
        var client = app.CreateClient();
        var form = new MultipartFormDataContent { { TestInputs.File(TestInputs.TinyCnn()), "model", "tiny.onnx" } };
        var defaults = await client.PostAsync("/quantize/defaults", form);
        Assert.Equal(HttpStatusCode.OK, defaults.StatusCode);
        var options = (await defaults.Content.ReadFromJsonAsync<QuantizeOptions>(ServiceApp.Json))!;

        var post = await client.PostAsync("/quantize", TestInputs.Form(TestInputs.TinyCnn()));
        var job = (await client.GetFromJsonAsync<JobResponse>(post.Headers.Location!.OriginalString, ServiceApp.Json))!;
        // Records compare collections by reference: the layer maps (both empty here) are compared on their own.
        Assert.Equal(job.Options! with { Preprocessing = null, Layers = null }, options with { Preprocessing = null, Layers = null });
        Assert.Equal(job.Options.Layers!, options.Layers!);
        Assert.Equal(job.Options.Preprocessing! with { Mean = null, Std = null }, options.Preprocessing! with { Mean = null, Std = null });
        Assert.Equal(job.Options.Preprocessing.Mean, options.Preprocessing.Mean);
        Assert.Equal("gray", options.Preprocessing.ColorMode);
        Assert.Equal(16, options.Preprocessing.Width);
        Assert.Equal("classify", options.Task);
        Assert.Equal("model.onnx", job.ModelFileName);

        var garbage = new MultipartFormDataContent { { TestInputs.File("not onnx"u8.ToArray()), "model", "x.onnx" } };
        await Problems.AssertAsync(await client.PostAsync("/quantize/defaults", garbage), HttpStatusCode.BadRequest, "");
        await Problems.AssertAsync(await client.PostAsync("/quantize/defaults", new MultipartFormDataContent { { new StringContent("x"), "other" } }),
            HttpStatusCode.BadRequest, "model");
    }

    [Fact]
    public async Task With_api_keys_the_pages_open_without_one_and_the_report_needs_one()
    {
        await using var app = new ServiceApp(_dir.Path, new() { ["Jobs:RunWorker"] = "false", ["ApiKeys:alice"] = "alice-key-0123" });
        var anonymous = app.CreateClient();
        foreach (var page in new[] { "/", "/ui/jobs/some-id", "/ui/app.css", "/ui/api.js", "/ui/index.js", "/ui/job.js" })
        {
            var response = await anonymous.GetAsync(page);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{page}: {response.StatusCode}");
        }
        Assert.Contains("id=\"upload\"", await anonymous.GetStringAsync("/"));
        Assert.Contains("id=\"report-slot\"", await anonymous.GetStringAsync("/ui/jobs/x"));
        await Problems.AssertAsync(await anonymous.GetAsync("/jobs/x/report.html"), HttpStatusCode.Unauthorized, "X-Api-Key");
        await Problems.AssertAsync(await anonymous.PostAsync("/quantize/defaults", TestInputs.Form(TestInputs.TinyCnn())), HttpStatusCode.Unauthorized, "X-Api-Key");
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/ui/missing.js")).StatusCode);
    }
}
