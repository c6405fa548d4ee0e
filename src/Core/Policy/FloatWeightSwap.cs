using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

using DSConvService.Core.Quantization;

namespace DSConvService.Core.Policy;

/// <summary>
/// Puts a layer's dequantized weight ŵ (the [O, C, S] view of <see cref="LayerCandidate"/>) into the
/// float model in place of its fp32 weight, in the layout the original node reads, and puts the
/// original back when disposed. The float model then shows the effect of quantizing that one layer.
/// </summary>
internal sealed class FloatWeightSwap : IDisposable
{
    private readonly Graph.Graph _graph;
    private readonly string _name;
    private readonly Tensor _original;

    public FloatWeightSwap(Model floatModel, LayerCandidate layer, float[] effective)
    {
        _graph = floatModel.Graph;
        _name = layer.Node.Inputs[1];
        _original = _graph.Initializers[_name];
        _graph.Initializers[_name] = Tensor.FromFloats((int[])_original.Shape.Clone(), ToNodeLayout(layer, effective, _original.Shape));
    }

    private static float[] ToNodeLayout(LayerCandidate layer, float[] effective, int[] shape)
    {
        if (!layer.FullyConnected)
        {
            return effective;
        }
        // FC weights were read as [N, K] times alpha (LayerCandidate.ToOutputMajor): undo both.
        var (transposed, alpha) = layer.Node.OpType == "Gemm"
            ? (layer.Node.GetInt("transB", 0) != 0, layer.Node.GetFloat("alpha", 1f))
            : (false, 1f);
        var scale = alpha == 0 ? 0f : 1f / alpha;
        var (nOut, k) = (layer.OutChannels, layer.Channels);
        var b = new float[effective.Length];
        for (var o = 0; o < nOut; o++)
        {
            for (var i = 0; i < k; i++)
            {
                b[transposed ? o * k + i : i * nOut + o] = effective[o * k + i] * scale;
            }
        }
        return b;
    }

    public void Dispose() => _graph.Initializers[_name] = _original;
}
