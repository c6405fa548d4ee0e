using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using DSConvService.Core.Reports;
using DSConvService.ReportHtml.Charts;

namespace DSConvService.ReportHtml;

/// <summary>
/// The report as one self-contained HTML page (styles inline, charts as inline SVG, no script, no
/// external reference), so it opens offline and can be attached to a ticket. The service's report
/// page shows the same &lt;main&gt; element; the CLI writes the same file.
/// </summary>
public static class ReportRenderer
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;
    private static readonly Lazy<string> Css = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("DSConvService.ReportHtml.report.css")!;
        return new StreamReader(stream).ReadToEnd();
    });

    public static string Render(ReportDocument doc)
    {
        var r = doc.Report;
        var features = r.Task == ModelTask.Features;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>DSConv report · ").Append(E(doc.Title)).Append("</title>\n<style>\n").Append(Css.Value).Append("</style>\n</head>\n<body>\n");
        html.Append("<main class=\"dsconv-report\" data-task=\"").Append(E(r.Task)).Append("\">\n");

        html.Append("<header>\n<h1>").Append(E(doc.Title)).Append("</h1>\n<p class=\"sub\">DSConv quantization report");
        if (doc.JobId is not null)
        {
            html.Append(" · job <code>").Append(E(doc.JobId)).Append("</code>");
        }
        html.Append(" · ").Append(E(doc.GeneratedAt.ToString("yyyy-MM-dd HH:mm 'UTC'", C))).Append("</p>\n");
        html.Append(features
            ? "<p class=\"task features\" id=\"task\"><strong>Feature model</strong>: the output is a feature vector, not class scores, so accuracy, top-1 agreement and KL do not apply; fidelity is the cosine and SQNR of the vector.</p>\n"
            : "<p class=\"task\" id=\"task\">Classifier: the output is class scores.</p>\n");
        html.Append("</header>\n");

        AppendModel(html, r);
        AppendQuality(html, r, features);
        AppendLatency(html, r);
        AppendLayers(html, r.Layers);
        AppendSettings(html, doc, r);
        AppendLinks(html, doc);
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendModel(StringBuilder html, QuantizationReport r)
    {
        var m = r.Model;
        html.Append("<section id=\"model\">\n<h2>Model</h2>\n<div class=\"row\">\n<dl class=\"cards\">\n");
        Card(html, "fp32 size", Bytes(m.Fp32Bytes), "fp32-bytes");
        Card(html, "quantized size", Bytes(m.QuantizedBytes), "quantized-bytes");
        Card(html, "compression", F($"{m.CompressionRatio:F2}×"), "compression");
        Card(html, "bits per weight", F($"{m.BitsPerWeight:F2}"), "bits-per-weight");
        Card(html, "parameters", F($"{m.Parameters:N0}"), "parameters");
        Card(html, "layers quantized", F($"{m.QuantizedLayers}"), "quantized-layers");
        Card(html, "layers skipped", F($"{m.SkippedLayers.Count}"), "skipped-layers");
        html.Append("</dl>\n<figure class=\"chart\" data-chart=\"size\">\n")
            .Append(PairChart.Render("size", "file size (MB)",
                ("fp32", m.Fp32Bytes / 1e6, Bytes(m.Fp32Bytes)), ("DSConv", m.QuantizedBytes / 1e6, Bytes(m.QuantizedBytes))))
            .Append("\n<figcaption>File size: the fp32 ONNX model against the quantized ONNX artifact.</figcaption>\n</figure>\n</div>\n");
        if (m.SkippedLayers.Count > 0)
        {
            html.Append("<h3>Skipped layers (kept in float)</h3>\n<ul class=\"skipped\">\n");
            foreach (var s in m.SkippedLayers)
            {
                html.Append("<li>").Append(E(s)).Append("</li>\n");
            }
            html.Append("</ul>\n");
        }
        html.Append("</section>\n");
    }

    private static void AppendQuality(StringBuilder html, QuantizationReport r, bool features)
    {
        html.Append("<section id=\"quality\">\n<h2>").Append(features ? "Fidelity" : "Accuracy and fidelity").Append("</h2>\n");
        if (r.Accuracy is { } a && !features)
        {
            html.Append(F($"<p>Accuracy on <strong>{a.Samples}</strong> labelled evaluation images:</p>\n"))
                .Append("<table class=\"metrics\" id=\"accuracy\">\n<thead><tr><th></th><th>fp32 (ONNX Runtime)</th><th>DSConv</th><th>change</th></tr></thead>\n<tbody>\n")
                .Append(F($"<tr><th>top-1</th><td>{a.Fp32Top1 * 100:F2} %</td><td>{a.QuantizedTop1 * 100:F2} %</td><td>{-a.Top1Drop * 100:+0.00;-0.00;0.00} points</td></tr>\n"))
                .Append(F($"<tr><th>top-5</th><td>{a.Fp32Top5 * 100:F2} %</td><td>{a.QuantizedTop5 * 100:F2} %</td><td>{(a.QuantizedTop5 - a.Fp32Top5) * 100:+0.00;-0.00;0.00} points</td></tr>\n"))
                .Append("</tbody>\n</table>\n");
        }
        else if (!features)
        {
            html.Append("<p class=\"muted\">No accuracy: no labelled evaluation images were given.</p>\n");
        }
        if (r.Fidelity is { } f)
        {
            html.Append(F($"<p>Fidelity: the quantized model's output against the fp32 model's (ONNX Runtime) on <strong>{f.Samples}</strong> {InputsName(r.FidelityInputs)}.</p>\n"))
                .Append("<dl class=\"cards\" id=\"fidelity\">\n");
            Card(html, "cosine", F($"{f.Cosine:F5}"), "cosine");
            Card(html, "output SQNR", F($"{f.OutputSqnrDb:F2} dB"), "output-sqnr");
            if (!features)
            {
                Card(html, "top-1 agreement", f.Top1Agreement is { } t ? F($"{t * 100:F2} %") : "–", "top1-agreement");
                Card(html, "mean KL", f.MeanKl is { } kl ? F($"{kl:E2}") : "–", "mean-kl");
            }
            html.Append("</dl>\n");
        }
        html.Append("</section>\n");
    }

    private static void AppendLatency(StringBuilder html, QuantizationReport r)
    {
        html.Append("<section id=\"latency\">\n<h2>Latency</h2>\n");
        if (r.Latency is not { } l)
        {
            html.Append("<p class=\"muted\">Latency was not measured.</p>\n</section>\n");
            return;
        }
        html.Append("<figure class=\"chart\" data-chart=\"latency\">\n")
            .Append(PairChart.Render("latency", "milliseconds per image (median)",
                ("ONNX Runtime fp32", l.Fp32OrtMs, F($"{l.Fp32OrtMs:F3} ms")), ("DSConv", l.DsconvMs, F($"{l.DsconvMs:F3} ms"))))
            .Append(F($"\n<figcaption>Speed-up <strong id=\"speedup\">{l.Speedup:F2}×</strong>: one image (batch {l.Batch}) on {l.Threads} thread(s), ONNX Runtime running the fp32 model, this service's integer kernels the quantized one, same machine.</figcaption>\n"))
            .Append("</figure>\n</section>\n");
    }

    private static void AppendLayers(StringBuilder html, IReadOnlyList<LayerSection> layers)
    {
        html.Append("<section id=\"layers\">\n<h2>Per layer</h2>\n");
        if (layers.Count == 0)
        {
            html.Append("<p class=\"muted\">No layer was quantized.</p>\n</section>\n");
            return;
        }
        var worst = WorstLayers.Pick(layers);
        html.Append("<p class=\"legend\"><span class=\"swatch\" style=\"background:").Append(ChartColors.WeightSqnr).Append("\"></span>weight SQNR (ŵ against w)")
            .Append("<span class=\"swatch\" style=\"background:").Append(ChartColors.OutputSqnr).Append("\"></span>output SQNR (layer output against fp32)")
            .Append("<span class=\"swatch worst\"></span>worst layers</p>\n")
            .Append(F($"<figure class=\"chart\" data-chart=\"layers\" data-layers=\"{layers.Count}\">\n"))
            .Append(LayerChart.Render(layers, worst))
            .Append(F($"\n<figcaption>Higher is better; bars are capped at {LayerChart.CapDb:F0} dB. Under each layer number: its weight bits and block size.</figcaption>\n</figure>\n"));
        html.Append("<p id=\"worst\">Lost the most: ")
            .Append(string.Join(", ", worst.Order().Select(i => F($"<strong>{i + 1}. {E(layers[i].Name)}</strong> ({Db(layers[i].OutputSqnrDb ?? layers[i].WeightSqnrDb)})"))))
            .Append(".</p>\n");
        html.Append("<details open>\n<summary>All layers</summary>\n<table class=\"layers\">\n<thead><tr><th>#</th><th>layer</th><th>op</th><th>bits</th><th>block</th><th>act bits</th><th>stored bits</th><th>weight SQNR</th><th>output SQNR</th><th>MACs</th></tr></thead>\n<tbody>\n");
        for (var i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            html.Append(worst.Contains(i) ? "<tr class=\"worst\">" : "<tr>")
                .Append(F($"<td>{i + 1}</td><td>{E(l.Name)}</td><td>{E(l.Op)}</td><td>{l.WeightBits}</td><td>{l.BlockSize}</td><td>{(l.ActivationBits == 0 ? "float" : l.ActivationBits)}</td><td>{Stored(l)}</td><td>{Db(l.WeightSqnrDb)}</td><td>{(l.OutputSqnrDb is { } o ? Db(o) : "–")}</td><td>{l.Macs:N0}</td></tr>\n"));
        }
        html.Append("</tbody>\n</table>\n</details>\n</section>\n");
    }

    // Honest size: a width narrower than its storage saves nothing over the storage width.
    private static string Stored(LayerSection l) =>
        l.StorageBitsPerWeight == 0 ? "–" : l.WastesStorage ? F($"{l.StorageBitsPerWeight} (no gain over {l.StorageBitsPerWeight}-bit)") : F($"{l.StorageBitsPerWeight}");

    private static void AppendSettings(StringBuilder html, ReportDocument doc, QuantizationReport r)
    {
        html.Append("<section id=\"settings\">\n<h2>Settings and notes</h2>\n");
        if (doc.Settings.Count > 0)
        {
            html.Append("<dl class=\"settings\">\n");
            foreach (var (name, value) in doc.Settings)
            {
                html.Append("<dt>").Append(E(name)).Append("</dt><dd>").Append(E(value)).Append("</dd>\n");
            }
            html.Append("</dl>\n");
        }
        html.Append(F($"<p class=\"muted\">Quantizing took {r.Timings.QuantizeSeconds:F2} s, evaluating {r.Timings.EvaluateSeconds:F2} s.</p>\n"));
        if (r.Notes.Count > 0)
        {
            html.Append("<ul class=\"notes\">\n");
            foreach (var n in r.Notes)
            {
                html.Append("<li>").Append(E(n)).Append("</li>\n");
            }
            html.Append("</ul>\n");
        }
        html.Append("</section>\n");
    }

    private static void AppendLinks(StringBuilder html, ReportDocument doc)
    {
        if (doc.ArtifactUrl is null && doc.ReportJsonUrl is null)
        {
            return;
        }
        html.Append("<section id=\"downloads\">\n<h2>Downloads</h2>\n<p>");
        if (doc.ArtifactUrl is not null)
        {
            html.Append("<a class=\"download\" id=\"artifact-link\" href=\"").Append(E(doc.ArtifactUrl)).Append("\" download>quantized model (.onnx)</a> ");
        }
        if (doc.ReportJsonUrl is not null)
        {
            html.Append("<a class=\"download\" id=\"json-link\" href=\"").Append(E(doc.ReportJsonUrl)).Append("\">report (JSON)</a>");
        }
        html.Append("</p>\n</section>\n");
    }

    private static void Card(StringBuilder html, string name, string value, string id) =>
        html.Append("<div><dt>").Append(E(name)).Append("</dt><dd id=\"").Append(id).Append("\">").Append(E(value)).Append("</dd></div>\n");

    private static string InputsName(string? source) => source switch
    {
        "evaluation" => "evaluation images",
        "calibration" => "calibration images",
        "fidelity" => "fidelity images",
        "synthetic" => "synthetic inputs (seeded noise in the model's input space; no images were given)",
        null => "inputs",
        var other => other + " inputs",
    };

    private static string Bytes(long bytes) => bytes >= 1_000_000 ? F($"{bytes / 1e6:F2} MB") : F($"{bytes / 1e3:F1} kB");

    private static string Db(double db) => double.IsPositiveInfinity(db) ? "∞ dB" : F($"{db:F1} dB");

    private static string F(FormattableString s) => s.ToString(C);

    private static string E(string s) => HtmlEncoder.Default.Encode(s);
}
