using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Adaptation;

internal sealed class KdsAdapter(Model floatModel, Model quantized, List<QuantizedLayer> layers, QuantizationOptions options)
{
    public IEnumerable<string> Run(IReadOnlyList<Tensor> calibration, IProgress<QuantizationProgress>? progress, CancellationToken ct)
    {
        _ = (floatModel, quantized, layers, options, calibration, progress, ct);
        return ["Adaptation is not implemented yet."];
    }
}
