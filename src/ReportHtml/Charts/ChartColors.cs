namespace DSConvService.ReportHtml.Charts;

/// <summary>
/// The series colours, shared by the charts and their HTML legends. Each series has a colour of
/// its own, so a chart's marks of one series are the SVG rectangles filled with that colour.
/// </summary>
public static class ChartColors
{
    public const string WeightSqnr = "#1F77B4";
    public const string OutputSqnr = "#FF7F0E";
    public const string Fp32 = "#7F7F7F";
    public const string Quantized = "#2CA02C";
    public const string Worst = "#D62728";
}
