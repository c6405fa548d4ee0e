using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;

namespace DSConvService.Api.Tests.Ui;

/// <summary>Models for the web page's tests.</summary>
internal static class UiModels
{
    public const int FeatureChannels = 12;

    /// <summary>conv-relu-conv-relu-global pool over a 1×16×16 input: a [1,12,1,1] feature map out, like the ImageNet featurizer's [1,512,1,1].</summary>
    public static byte[] FeatureExtractor()
    {
        var random = new Random(11);
        float[] Weights(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
        var b = new ModelBuilder();
        var x = b.Input("input", 1, 1, 16, 16);
        var c1 = b.Node("Conv", [x, b.Floats([8, 1, 3, 3], Weights(72, 0.5f)), b.Floats([8], Weights(8, 0.1f))], new { kernel_shape = new[] { 3, 3 }, pads = new[] { 1, 1, 1, 1 } });
        var c2 = b.Node("Conv", [b.Node("Relu", [c1]), b.Floats([FeatureChannels, 8, 3, 3], Weights(FeatureChannels * 72, 0.3f)), b.Floats([FeatureChannels], Weights(FeatureChannels, 0.1f))],
            new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 } });
        var pooled = b.Node("GlobalAveragePool", [b.Node("Relu", [c2])]);
        b.Output(pooled);
        var model = b.Build();
        // The builder declares outputs without a shape; a featurizer declares its map.
        model.Graph.Outputs[0] = new ValueInfo(pooled, DataType.Float, [1, FeatureChannels, 1, 1]);
        return OnnxWriter.ToBytes(model);
    }
}
