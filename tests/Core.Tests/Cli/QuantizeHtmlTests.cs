using System.Text.Json;
using System.Text.RegularExpressions;
using DSConvService.Cli;
using DSConvService.ReportHtml.Charts;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Cli;

/// <summary>dsconv quantize --html writes the service's standalone report page; --task features drops class metrics.</summary>
public sealed class QuantizeHtmlTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsconv-html-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Model()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 3, 12, 12);
        var c1 = b.Node("Relu", [Conv(b, x, 3, 16, 1)]);
        var head = b.Node("Conv", [c1, Weights(b, 4, 5, 16, 1, 1), Weights(b, 5, 5)]);
        b.Output(b.Node("Flatten", [b.Node("GlobalAveragePool", [head])]));
        var path = Path.Combine(_dir, "small.onnx");
        File.WriteAllBytes(path, b.ToBytes());
        return path;
    }

    private static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void The_html_file_has_the_charts_with_one_mark_per_layer()
    {
        var html = Path.Combine(_dir, "report.html");
        var (code, stdout, stderr) = Invoke("quantize", "-m", Model(), "-o", Path.Combine(_dir, "q.onnx"), "--threads", "1", "--latency-runs", "1", "--json", "--html", html);
        Assert.True(code == 0, stderr);
        var layers = JsonDocument.Parse(stdout).RootElement.GetProperty("layers").GetArrayLength();
        Assert.Equal(2, layers);

        var page = File.ReadAllText(html);
        Assert.StartsWith("<!DOCTYPE html>", page);
        Assert.Contains("<h1>small.onnx</h1>", page);
        var chart = Regex.Match(page, "<figure class=\"chart\" data-chart=\"layers\"[^>]*>(.*?)</figure>", RegexOptions.Singleline).Groups[1].Value;
        Assert.Equal(layers, Regex.Matches(chart, $"<rect fill=\"{ChartColors.WeightSqnr}\"").Count);
        Assert.Contains("data-chart=\"latency\"", page);
        Assert.Contains("data-chart=\"size\"", page);
        Assert.DoesNotContain("<script", page);
        Assert.False(File.Exists(html + ".tmp"));
    }

    [Fact]
    public void Task_features_leaves_out_class_metrics_in_json_and_html()
    {
        var html = Path.Combine(_dir, "features.html");
        var (code, stdout, stderr) = Invoke("quantize", "-m", Model(), "-o", Path.Combine(_dir, "q.onnx"), "--threads", "1", "--latency-runs", "0", "--json", "--task", "features", "--html", html);
        Assert.True(code == 0, stderr);
        var report = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("features", report.GetProperty("task").GetString());
        Assert.Equal(JsonValueKind.Null, report.GetProperty("fidelity").GetProperty("top1Agreement").ValueKind);
        Assert.Contains("Feature model", File.ReadAllText(html));

        var (classifyCode, classify, _) = Invoke("quantize", "-m", Model(), "-o", Path.Combine(_dir, "q2.onnx"), "--threads", "1", "--latency-runs", "0", "--json");
        Assert.Equal(0, classifyCode);
        var classified = JsonDocument.Parse(classify).RootElement;
        Assert.Equal("classify", classified.GetProperty("task").GetString());
        Assert.Equal(JsonValueKind.Number, classified.GetProperty("fidelity").GetProperty("top1Agreement").ValueKind);
    }
}
