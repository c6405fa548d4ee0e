using DSConvService.Core.Reports;
using DSConvService.ReportHtml;
using DSConvService.ReportHtml.Charts;
using Xunit;

namespace DSConvService.Api.Tests.Ui;

/// <summary>The one HTML renderer that GET /jobs/{id}/report.html and dsconv quantize --html share.</summary>
public sealed class ReportRendererTests
{
    private static LayerSection Layer(string name, double weightDb, double? outputDb, int bits = 4, int block = 32) =>
        new() { Name = name, Op = "Conv", WeightBits = bits, BlockSize = block, WeightSqnrDb = weightDb, OutputSqnrDb = outputDb, Macs = 1000 };

    private static QuantizationReport Report(params LayerSection[] layers) => new()
    {
        Model = new ModelSection { Parameters = 100, Fp32Bytes = 4_000_000, QuantizedBytes = 600_000, CompressionRatio = 6.67, BitsPerWeight = 4.5, QuantizedLayers = layers.Length, SkippedLayers = ["head (Gemm): kept in float: too few weights"] },
        Fidelity = new FidelitySection { Samples = 16, Cosine = 0.99, OutputSqnrDb = 20, Top1Agreement = 0.9, MeanKl = 0.01 },
        Latency = new LatencySection { Threads = 2, Batch = 1, Fp32OrtMs = 2, DsconvMs = 1, Speedup = 2 },
        Layers = layers,
        FidelityInputs = "synthetic",
    };

    [Fact]
    public void Worst_layers_are_the_lowest_output_sqnr_and_fall_back_to_weight_sqnr()
    {
        var layers = Enumerable.Range(0, 12).Select(i => Layer($"l{i}", 30 - i, i == 3 ? null : 40 + i)).ToArray();
        // 12 layers: the worst quarter, 3 of them. Layer 3 has no output SQNR: its weight SQNR (27) counts.
        Assert.Equal(new HashSet<int> { 0, 1, 3 }, WorstLayers.Pick(layers));
        Assert.Equal(new HashSet<int> { 1 }, WorstLayers.Pick([Layer("a", 20, 15), Layer("b", 20, 9), Layer("c", 20, 30)]));
        Assert.Empty(WorstLayers.Pick([]));
    }

    [Fact]
    public void Every_layer_gets_one_weight_mark_even_when_exact_or_without_output_sqnr()
    {
        var html = ReportRenderer.Render(new ReportDocument
        {
            Report = Report(Layer("a", double.PositiveInfinity, 30), Layer("b", 12, null), Layer("c", 18, 14, bits: 8, block: 16)),
            Title = "m.onnx",
        });
        Assert.Equal(3, ReportHtmlApiTests.Marks(html, "layers", ChartColors.WeightSqnr));
        Assert.Equal(2, ReportHtmlApiTests.Marks(html, "layers", ChartColors.OutputSqnr));
        Assert.Contains("∞ dB", html);
        Assert.Contains("8b/16", html);
        Assert.Contains("kept in float: too few weights", html);
        Assert.Contains("synthetic inputs", html);
        // No download section without links (the CLI's file).
        Assert.DoesNotContain("id=\"downloads\"", html);
    }

    [Fact]
    public void Names_from_the_model_are_escaped()
    {
        var html = ReportRenderer.Render(new ReportDocument
        {
            Report = Report(Layer("<script>alert(1)</script>", 20, 18)),
            Title = "<img src=x onerror=alert(1)>.onnx",
            Settings = [new("task", "\"quoted\" & <tagged>")],
        });
        Assert.DoesNotContain("<script>alert", html);
        Assert.DoesNotContain("<img src=x", html);
        Assert.Contains("&lt;script&gt;", html);
        Assert.DoesNotContain("<tagged>", html);
    }

    [Fact]
    public void Charts_in_one_page_have_ids_of_their_own()
    {
        var html = ReportRenderer.Render(new ReportDocument { Report = Report(Layer("a", 20, 18), Layer("b", 21, 17)), Title = "m" });
        var ids = System.Text.RegularExpressions.Regex.Matches(html, "id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(html, "<svg ").Count);
        Assert.All(System.Text.RegularExpressions.Regex.Matches(html, @"url\(#([^)]+)\)"), m => Assert.Contains(m.Groups[1].Value, ids));
    }

    [Fact]
    public void A_feature_model_report_says_so_and_has_no_class_metrics()
    {
        var report = ModelTask.Apply(Report(Layer("a", 20, 18)) with { Accuracy = new AccuracySection { Samples = 4, Fp32Top1 = 1 } }, ModelTask.Features);
        Assert.Null(report.Accuracy);
        Assert.Null(report.Fidelity!.Top1Agreement);
        var html = ReportRenderer.Render(new ReportDocument { Report = report, Title = "f.onnx" });
        Assert.Contains("data-task=\"features\"", html);
        Assert.Contains("Feature model", html);
        Assert.DoesNotContain("id=\"top1-agreement\"", html);
        Assert.DoesNotContain("id=\"mean-kl\"", html);
        Assert.DoesNotContain("id=\"accuracy\"", html);
        Assert.Contains("id=\"cosine\"", html);
    }
}
