namespace DSConvService.Core.Quantization;

/// <summary>Progress of a quantization run: a stage ("prepare", "quantize", "adapt"), layers done of total, the current layer.</summary>
public sealed record QuantizationProgress(string Stage, int Done, int Total, string? Layer = null)
{
    public double Fraction => Total == 0 ? 1 : (double)Done / Total;
}
