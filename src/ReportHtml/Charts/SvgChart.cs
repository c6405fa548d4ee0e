using System.Text.RegularExpressions;
using ScottPlot;

namespace DSConvService.ReportHtml.Charts;

/// <summary>Turns a ScottPlot plot into an SVG element that can sit inline in an HTML page beside other charts.</summary>
internal static partial class SvgChart
{
    public const string FontName = "DejaVu Sans";

    public static string Render(Plot plot, int width, int height, string idPrefix)
    {
        plot.Font.Set(FontName);
        var svg = plot.GetSvgXml(width, height);
        svg = XmlDeclaration().Replace(svg, "");
        // Several charts share one document, so their clip-path ids must not collide.
        svg = IdAttribute().Replace(svg, m => $"id=\"{idPrefix}-{m.Groups[1].Value}\"");
        svg = UrlReference().Replace(svg, m => $"url(#{idPrefix}-{m.Groups[1].Value})");
        // Scales with the page: a viewBox instead of a fixed size (CSS gives the width).
        svg = SvgOpening().Replace(svg, $"<svg$1 viewBox=\"0 0 {width} {height}\" style=\"max-width:{width}px\" role=\"img\"", 1);
        return svg.Trim();
    }

    [GeneratedRegex(@"<\?xml[^>]*\?>\s*")]
    private static partial Regex XmlDeclaration();

    [GeneratedRegex("id=\"([^\"]+)\"")]
    private static partial Regex IdAttribute();

    [GeneratedRegex(@"url\(#([^)]+)\)")]
    private static partial Regex UrlReference();

    [GeneratedRegex("<svg([^>]*?) width=\"\\d+\" height=\"\\d+\"")]
    private static partial Regex SvgOpening();
}
