using ScottPlot;

namespace DSConvService.ReportHtml.Charts;

/// <summary>Two horizontal bars, fp32 against quantized, each labelled with its value (latency, file size).</summary>
public static class PairChart
{
    public static string Render(string idPrefix, string axisLabel, (string Name, double Value, string Text) fp32, (string Name, double Value, string Text) quantized)
    {
        var plot = new Plot();
        var bars = plot.Add.Bars(new[]
        {
            new Bar { Position = 1, Value = fp32.Value, FillColor = Color.FromHex(ChartColors.Fp32), LineWidth = 0, Label = fp32.Text, Size = 0.6 },
            new Bar { Position = 0, Value = quantized.Value, FillColor = Color.FromHex(ChartColors.Quantized), LineWidth = 0, Label = quantized.Text, Size = 0.6 },
        });
        bars.Horizontal = true;
        bars.ValueLabelStyle.FontSize = 14;
        bars.ValueLabelStyle.FontName = SvgChart.FontName;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([1, 0], [fp32.Name, quantized.Name]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.Margins(left: 0, right: 0.4);
        plot.XLabel(axisLabel);
        plot.Grid.YAxisStyle.IsVisible = false;
        return SvgChart.Render(plot, 560, 200, idPrefix);
    }
}
