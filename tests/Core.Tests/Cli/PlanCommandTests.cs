using System.Text.Json;
using DSConvService.Cli;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Cli;

/// <summary>dsconv plan on a real MNIST model, and the target flags of dsconv quantize.</summary>
public sealed class PlanCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dsconv-plan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [SkippableFact]
    public void Plan_prints_the_shape_of_post_plan_and_its_estimate_matches_quantize()
    {
        var model = TestData.SharedFile("models/resnet_mini.onnx");
        var (code, stdout, stderr) = Invoke("plan", "--model", model, "--bits", "8", "--block", "16", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal(["layers", "totals", "unsupportedOperators"], root.EnumerateObject().Select(p => p.Name));
        var layers = root.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(16, layers.Count);
        Assert.All(layers, l => Assert.Equal(8, l.GetProperty("settings").GetProperty("weightBits").GetInt32()));
        Assert.All(layers, l => Assert.Contains(l.GetProperty("kernelPath").GetProperty("path").GetString(), new[] { "integer", "float" }));
        var estimated = root.GetProperty("totals").GetProperty("estimatedBytes").GetInt64();

        var output = Path.Combine(_dir, "q.onnx");
        var (qcode, _, qerr) = Invoke("quantize", "--model", model, "--output", output, "--bits", "8", "--block", "16", "--latency-runs", "0", "--threads", "2");
        Assert.True(qcode == 0, qerr);
        var actual = new FileInfo(output).Length;
        Assert.InRange(estimated, actual * 0.99, actual * 1.01);

        var (tcode, text, terr) = Invoke("plan", "--model", model);
        Assert.True(tcode == 0, terr);
        Assert.Contains("bytes estimated", text);
        Assert.Contains("integer:", text);
    }

    [SkippableFact]
    public void Bad_target_values_are_refused_with_the_flag_name()
    {
        var model = TestData.SharedFile("models/lenet_bn.onnx");
        var (code, _, stderr) = Invoke("plan", "--model", model, "--target-cosine", "1.5");
        Assert.Equal(2, code);
        Assert.Contains("--target-cosine must be in (0, 1]", stderr);
        (code, _, stderr) = Invoke("quantize", "--model", model, "--output", Path.Combine(_dir, "x.onnx"), "--min-compression", "0.5");
        Assert.Equal(2, code);
        Assert.Contains("--min-compression must be at least 1", stderr);
    }

    [SkippableFact]
    public void Quantize_with_a_target_reports_the_policy()
    {
        var model = TestData.SharedFile("models/lenet_bn.onnx");
        var (code, stdout, stderr) = Invoke("quantize", "--model", model, "--output", Path.Combine(_dir, "t.onnx"),
            "--target-cosine", "0.99", "--min-compression", "5", "--latency-runs", "0", "--threads", "2", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var policy = doc.RootElement.GetProperty("policy");
        Assert.Equal("synthetic", policy.GetProperty("selectionInputs").GetString());
        Assert.Equal(0.99, policy.GetProperty("target").GetProperty("cosine").GetDouble());
        Assert.Equal(5, policy.GetProperty("target").GetProperty("minCompression").GetDouble());
        Assert.True(policy.GetProperty("met").GetBoolean());
        Assert.Equal(5, policy.GetProperty("layers").GetArrayLength());
        Assert.True(doc.RootElement.GetProperty("model").GetProperty("compressionRatio").GetDouble() >= 5);
        var fidelity = doc.RootElement.GetProperty("fidelity");
        Assert.True(fidelity.GetProperty("cosineMin").GetDouble() <= fidelity.GetProperty("cosine").GetDouble());
    }
}
