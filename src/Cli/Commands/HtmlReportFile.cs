using System.Globalization;
using DSConvService.Core.Imaging;
using DSConvService.Core.Reports;
using DSConvService.ReportHtml;

namespace DSConvService.Cli.Commands;

/// <summary>dsconv quantize --html: the same standalone page as the service's GET /jobs/{id}/report.html.</summary>
internal static class HtmlReportFile
{
    public static void Write(string path, QuantizationReport report, QuantizeCommand.Request request, PreprocessingOptions p)
    {
        var c = CultureInfo.InvariantCulture;
        var o = request.Options;
        var html = ReportRenderer.Render(new ReportDocument
        {
            Report = report,
            Title = Path.GetFileName(request.Model),
            Settings =
            [
                new("weight bits", o.WeightBits.ToString(c)),
                new("block size", o.BlockSize.ToString(c)),
                new("activations", o.ActivationBits == 0 ? "float" : $"BFP, {o.ActivationBits}-bit mantissas"),
                new("KDS", o.Kds.ToString().ToLowerInvariant() + (o.KdsBias ? " + bias" : "") + (o.Cds ? ", CDS" : "")),
                new("adapt", o.Adapt ? "yes" : "no"),
                new("task", report.Task),
                new("preprocessing", string.Create(c, $"{p.Width}×{p.Height} {(p.Resize == ResizeMode.Stretch ? "stretch" : "center-crop")}, {p.ColorMode.ToString().ToLowerInvariant()}, scale {p.Scale}, mean [{string.Join(", ", p.Mean.Select(m => m.ToString(c)))}], std [{string.Join(", ", p.Std.Select(s => s.ToString(c)))}]")),
                new("artifact", request.Output),
            ],
        });
        var full = Path.GetFullPath(path);
        File.WriteAllText(full + ".tmp", html);
        File.Move(full + ".tmp", full, overwrite: true);
    }
}
