using DSConvService.Core.Graph;
using DSConvService.TestSupport;

namespace DSConvService.Core.Tests.Quantization;

/// <summary>Small models covering the layer kinds the quantizer handles.</summary>
internal static class QuantizerTestModels
{
    /// <summary>Conv (pads, bias) → Relu → depthwise Conv (stride 2) → grouped 1x1 Conv → Flatten → Gemm (transB 0) → MatMul.</summary>
    public static Model Mixed(int seed = 1)
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 1, 6, 10, 10);
        var w1 = b.Initializer(RandomTensors.Normal(seed, [8, 6, 3, 3], 0.3f));
        var b1 = b.Initializer(RandomTensors.Normal(seed + 1, [8], 0.1f));
        var y = b.Node("Conv", [x, w1, b1], new { pads = new long[] { 1, 1, 1, 1 }, kernel_shape = new long[] { 3, 3 } });
        y = b.Node("Relu", [y]);
        var w2 = b.Initializer(RandomTensors.Normal(seed + 2, [8, 1, 3, 3], 0.3f));
        y = b.Node("Conv", [y, w2], new { group = 8L, strides = new long[] { 2, 2 }, pads = new long[] { 1, 1, 1, 1 } });
        var w3 = b.Initializer(RandomTensors.Normal(seed + 3, [12, 4, 1, 1], 0.3f));
        y = b.Node("Conv", [y, w3], new { group = 2L });
        y = b.Node("Flatten", [y], new { axis = 1L });
        var w4 = b.Initializer(RandomTensors.Normal(seed + 4, [300, 10], 0.1f));
        var c4 = b.Initializer(RandomTensors.Normal(seed + 5, [10], 0.1f));
        y = b.Node("Gemm", [y, w4, c4], new { alpha = 0.5f, beta = 2f });
        var w5 = b.Initializer(RandomTensors.Normal(seed + 6, [10, 7], 0.3f));
        y = b.Node("MatMul", [y, w5]);
        return b.Output(y).Build();
    }
}
