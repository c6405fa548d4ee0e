using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Graph;
using DSConvService.Core.Quantization.Weights;

namespace DSConvService.Core.Quantization;

/// <summary>One layer the quantizer replaced: the fp32 layer it came from, its quantized weight and the DSConv node.</summary>
internal sealed class QuantizedLayer
{
    public required LayerCandidate Source { get; init; }
    public required DSConvWeights Weight { get; set; }
    public required Node Node { get; init; }
    public long Macs { get; set; }

    /// <summary>Shapes seen when MACs were counted (one sample, unknown dimensions as 1); null when not measured.</summary>
    public int[]? InputShape { get; set; }
    public int[]? OutputShape { get; set; }
    public double WeightSqnrDb { get; set; }

    /// <summary>True when data-free bias correction (DESIGN 2.5) changed this layer's bias.</summary>
    public bool BiasCorrected { get; set; }

    public string Name => Node.DisplayName;
}
