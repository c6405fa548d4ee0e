using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using DSConvService.Api.Contracts;
using DSConvService.Api.Tests.Support;
using DSConvService.Cli;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Api.Tests;

/// <summary>
/// Issue 12: `dsconv quantize --json` and `GET /jobs/{id}` report the same numbers for the same model, options and
/// images (both go through Core's QuantizationRun); only timings and latency may differ.
/// </summary>
public sealed class CliServiceParityTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task The_Cli_Report_Equals_The_Service_Report_But_For_Timings_And_Latency()
    {
        var model = TestData.SharedFile("models/lenet_bn.onnx");
        var zip = _dir.File("eval.zip");
        await File.WriteAllBytesAsync(zip, Subset(TestData.SharedFile("mnist/mnist-eval-2000.zip"), perClass: 3));
        const string options = """{"weightBits":4,"blockSize":16,"activationBits":8}""";

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = CliApp.Run(["quantize", "-m", model, "-o", _dir.File("q.onnx"), "--eval", zip, "--bits", "4", "--block", "16",
            "--activation-bits", "8", "--threads", "2", "--json"], stdout, stderr);
        Assert.True(code == 0, stderr.ToString());
        var cli = JsonNode.Parse(stdout.ToString())!.AsObject();

        await using var app = new ServiceApp(_dir.Path);
        var client = app.CreateClient();
        var post = await client.PostAsync("/quantize", TestInputs.Form(await File.ReadAllBytesAsync(model), await File.ReadAllBytesAsync(zip), options: options));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        var id = (await post.Content.ReadFromJsonAsync<JobAccepted>(ServiceApp.Json))!.Id;
        var job = await ServiceApp.WaitAsync(client, id);
        Assert.True(job.Status == "succeeded", $"job {job.Status}: {job.Error}");
        var service = JsonNode.Parse(await client.GetStringAsync($"/jobs/{id}"))!["report"]!.AsObject();

        Assert.Equal(30, cli["accuracy"]!["samples"]!.GetValue<int>());
        foreach (var report in new[] { cli, service })
        {
            report.Remove("timings");
            report.Remove("latency");
        }
        Assert.Equal(service.ToJsonString(), cli.ToJsonString());
    }

    private static byte[] Subset(string zipPath, int perClass)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        var entries = zip.Entries.Where(e => e.FullName.EndsWith(".png", StringComparison.Ordinal))
            .GroupBy(e => e.FullName.Split('/')[0])
            .SelectMany(g => g.Take(perClass))
            .Select(e =>
            {
                using var s = e.Open();
                using var m = new MemoryStream();
                s.CopyTo(m);
                return (e.FullName, m.ToArray());
            }).ToArray();
        return TestInputs.Zip(entries);
    }
}
