using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Passes;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Models;

/// <summary>
/// Generated networks mixing the structures real CNNs use (residual adds, concatenated branches,
/// depthwise convolutions, BatchNorm, FC heads), run here and in ONNX Runtime.
/// </summary>
public class GeneratedModelParityTests
{
    private static string ConvBnRelu(ModelBuilder b, string x, int cin, int cout, int seed, int k = 3, int stride = 1, int group = 1)
    {
        var w = Weights(b, seed, cout, cin / group, k, k);
        var conv = b.Node("Conv", [x, w], new
        {
            kernel_shape = new long[] { k, k },
            pads = new long[] { k / 2, k / 2, k / 2, k / 2 },
            strides = new long[] { stride, stride },
            group = (long)group,
        });
        return b.Node("Relu", [BatchNorm(b, conv, cout, seed + 100)]);
    }

    /// <summary>Stem, a residual block, a strided block with a 1x1 projection shortcut, pooling and an FC head.</summary>
    private static ModelBuilder Residual()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", -1, 3, 20, 20);
        var stem = ConvBnRelu(b, x, 3, 8, 1);
        var body = ConvBnRelu(b, ConvBnRelu(b, stem, 8, 8, 2), 8, 8, 3);
        var res1 = b.Node("Relu", [b.Node("Add", [body, stem])]);
        var down = ConvBnRelu(b, res1, 8, 16, 4, stride: 2);
        var shortcut = b.Node("Conv", [res1, Weights(b, 5, 16, 8, 1, 1)], new { strides = new long[] { 2, 2 } });
        var res2 = b.Node("Relu", [b.Node("Add", [down, shortcut])]);
        var pooled = b.Node("Flatten", [b.Node("GlobalAveragePool", [res2])]);
        var fc1 = b.Node("Relu", [b.Node("Gemm", [pooled, Weights(b, 6, 12, 16), Weights(b, 7, 12)], new { transB = 1L })]);
        b.Output(b.Node("Gemm", [fc1, Weights(b, 8, 12, 5), Weights(b, 9, 5)]));
        return b;
    }

    /// <summary>Inception-like concat of a 1x1 branch, a 3x3 branch and a depthwise-separable branch, then max pool and a head.</summary>
    private static ModelBuilder Branches()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", -1, 4, 17, 15);
        var a = ConvBnRelu(b, x, 4, 6, 10, k: 1);
        var c = ConvBnRelu(b, x, 4, 6, 11, k: 3);
        var dw = ConvBnRelu(b, x, 4, 4, 12, k: 3, group: 4);
        var pw = b.Node("Clip", [ConvBnRelu(b, dw, 4, 8, 13, k: 1), b.Initializer(Core.Tensors.Tensor.Scalar(0f)), b.Initializer(Core.Tensors.Tensor.Scalar(6f))]);
        var cat = b.Node("Concat", [a, c, pw], new { axis = 1L });
        var pool = b.Node("MaxPool", [cat], new { kernel_shape = new long[] { 3, 3 }, strides = new long[] { 2, 2 } });
        var dw2 = b.Node("Conv", [pool, Weights(b, 14, 20, 1, 3, 3), Weights(b, 15, 20)], new { group = 20L, kernel_shape = new long[] { 3, 3 }, pads = new long[] { 1, 1, 1, 1 } });
        var act = b.Node("LeakyRelu", [dw2], new { alpha = 0.1f });
        var flat = b.Node("Flatten", [b.Node("AveragePool", [act], new { kernel_shape = new long[] { 2, 2 }, strides = new long[] { 2, 2 } })]);
        // 20 channels x 3 x 3 after pool (17x15 -> 8x7 -> 4x3)
        b.Output(b.Node("Gemm", [flat, Weights(b, 16, 10, 20 * 4 * 3), Weights(b, 17, 10)], new { transB = 1L }));
        return b;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Residual_Network_Matches_Ort(int batch)
    {
        var b = Residual();
        var relative = Parity.Compare(b.ToBytes(), RandomTensors.Uniform(batch, [batch, 3, 20, 20]));
        Parity.AssertClose(relative);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Branching_Network_With_Depthwise_Convs_Matches_Ort(int batch)
    {
        var b = Branches();
        Parity.AssertClose(Parity.Compare(b.ToBytes(), RandomTensors.Uniform(batch + 10, [batch, 4, 17, 15])));
    }

    [Fact]
    public void Optimized_Residual_Network_Has_No_BatchNorm_And_Fused_Activations()
    {
        var optimized = GraphOptimizer.Optimize(Residual().Build());
        Assert.Equal(0, Count(optimized, "BatchNormalization"));
        // Relus after a Conv are fused; the two after the residual Adds must stay.
        Assert.Equal(2, Count(optimized, "Relu"));
        Assert.Equal(4, optimized.Graph.Nodes.Count(n => n.OpType == "Conv" && n.GetString("fused_activation", "") == "Relu"));
        Assert.Equal("Relu", optimized.Graph.Nodes.Single(n => n.OpType == "Gemm" && n.Attributes.ContainsKey("fused_activation")).GetString("fused_activation", ""));
    }
}
