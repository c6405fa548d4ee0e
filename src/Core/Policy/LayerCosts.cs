using DSConvService.Core.Format;
using DSConvService.Core.Quantization.Weights;

using DSConvService.Core.Quantization;

namespace DSConvService.Core.Policy;

/// <summary>
/// One layer's price list: for each candidate format, its stored bytes and the relative error energy
/// ‖w − ŵ‖² / ‖w‖² of its weight; plus its sensitivity once measured.
/// </summary>
internal sealed class LayerCosts
{
    /// <summary>The layer at the cheapest format; dropped (null) once the sensitivities are measured, with its codes.</summary>
    public QuantizedLayer? Layer { get; set; }

    public required double[] Bytes { get; init; }
    public required double[] ErrorEnergy { get; init; }

    /// <summary>1 − mean cosine of the float model with only this layer at the cheapest format.</summary>
    public double Sensitivity { get; set; }

    /// <summary>Predicted output error (1 − cosine) of this layer at format <paramref name="f"/>: the sensitivity scaled by the weight error.</summary>
    public double Error(int f) => ErrorEnergy[0] > 0 ? Sensitivity * ErrorEnergy[f] / ErrorEnergy[0] : 0;

    public string Name { get; init; } = "";

    public static LayerCosts For(QuantizedLayer layer, IReadOnlyList<DSConvSettings> formats, QuantizationOptions options)
    {
        var c = layer.Source;
        var (kh, kw) = c.WeightShape.Length == 4 ? (c.WeightShape[2], c.WeightShape[3]) : (1, 1);
        var signal = c.Weight.Sum(v => (double)v * v);
        var bytes = new double[formats.Count];
        var error = new double[formats.Count];
        for (var f = 0; f < formats.Count; f++)
        {
            // Format 0 is the one the layer was quantized with already.
            var qw = f == 0 ? layer.Weight : WeightQuantizer.Quantize(c.Weight, c.OutChannels, c.Channels, kh, kw, c.Depthwise, options with { Format = formats[f] });
            bytes[f] = qw.StorageBits() / 8.0;
            error[f] = signal > 0 ? WeightQuantizer.ErrorEnergy(c.Weight, qw.Effective()) / signal : 0;
        }
        // The fp32 weight was read for this layer only: the model's copy stays in its file.
        c.ReleaseWeight();
        return new LayerCosts { Layer = layer, Name = layer.Name, Bytes = bytes, ErrorEnergy = error };
    }
}
