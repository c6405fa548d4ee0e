using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels;

/// <summary>Our Gemm and MatMul operators against ONNX Runtime on generated single-node models.</summary>
public sealed class GemmOpTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData(5, 7, 9, false, false, 1f, 1f, "none", true)]
    [InlineData(5, 7, 9, true, false, 1f, 1f, "N", true)]
    [InlineData(5, 7, 9, false, true, 0.5f, 2f, "1N", true)]
    [InlineData(5, 7, 9, true, true, 1.5f, 0.25f, "M1", false)]
    [InlineData(17, 130, 50, false, true, 1f, 1f, "MN", true)]
    [InlineData(1, 512, 1000, false, true, 1f, 1f, "N", true)]
    [InlineData(33, 300, 70, true, false, -1f, 1f, "scalar", false)]
    [InlineData(8, 64, 49, false, false, 1f, 0f, "MN", false)]
    [InlineData(1, 37, 61, true, false, 0.5f, 2f, "1N", true)]
    [InlineData(1, 1, 17, false, false, 1f, 1f, "none", true)]
    [InlineData(1, 301, 48, true, true, -1.5f, 0.5f, "scalar", true)]
    [InlineData(1, 130, 97, false, true, 1f, 1f, "M1", true)]
    public void GemmMatchesOnnxRuntime(int m, int k, int n, bool transA, bool transB, float alpha, float beta, string c, bool constantB)
    {
        var b = new ModelBuilder();
        var a = b.Input("a", transA ? [k, m] : [m, k]);
        int[] bShape = transB ? [n, k] : [k, n];
        var bName = constantB ? b.Initializer(RandomTensors.Uniform(2, bShape)) : b.Input("b", bShape);
        var inputs = new List<string> { a, bName };
        int[]? cShape = c switch
        {
            "none" => null,
            "scalar" => [],
            "N" => [n],
            "1N" => [1, n],
            "M1" => [m, 1],
            _ => [m, n],
        };
        if (cShape is not null)
        {
            inputs.Add(b.Initializer(RandomTensors.Uniform(3, cShape)));
        }
        b.Output(b.Node("Gemm", inputs.ToArray(), new { alpha, beta, transA = transA ? 1 : 0, transB = transB ? 1 : 0 }));
        var feeds = new List<Tensor> { RandomTensors.Uniform(1, transA ? [k, m] : [m, k]) };
        if (!constantB)
        {
            feeds.Add(RandomTensors.Uniform(2, bShape));
        }
        Compare(b.Build(), feeds.ToArray());
    }

    /// <summary>One row against a constant B (the batch-1 classifier, <see cref="PackedGemv"/>) on every GEMM kernel's panel layout.</summary>
    [Theory]
    [MemberData(nameof(GemmKernelTests.Isas), MemberType = typeof(GemmKernelTests))]
    public void SingleRowGemmMatchesOnnxRuntimeOnEveryKernel(GemmIsa isa)
    {
        using var forced = GemmKernels.Force(isa);
        foreach (var (k, n) in new[] { (1600, 256), (33, 1000), (7, 5), (128, 49) })
        {
            var b = new ModelBuilder();
            var a = b.Input("a", 1, k);
            b.Output(b.Node("Relu", [b.Node("Gemm", [a, b.Initializer(RandomTensors.Uniform(2, [n, k])), b.Initializer(RandomTensors.Uniform(3, [n]))], new { transB = 1 })]));
            var model = b.Build();
            var ours = new InferenceSession(model, new SessionOptions { Threads = 2 }).Run(RandomTensors.Uniform(1, [1, k]))[0];
            using var ort = new OrtReference(OnnxWriter.ToBytes(model), threads: 1);
            var diff = RandomTensors.RelativeDiff(ours, ort.Run(RandomTensors.Uniform(1, [1, k]))[0]);
            Assert.True(diff <= Tolerance, $"{isa} k={k} n={n}: relative diff {diff}");
        }
    }

    [Theory]
    [InlineData("Relu")]
    [InlineData("Clip")]
    [InlineData("LeakyRelu")]
    public void GemmFusedActivationMatchesGemmFollowedByActivation(string activation)
    {
        Model Build(bool fused)
        {
            var b = new ModelBuilder();
            var a = b.Input("a", 6, 40);
            var y = b.Node("Gemm", [a, b.Initializer(RandomTensors.Uniform(2, [40, 21])), b.Initializer(RandomTensors.Uniform(3, [21]))]);
            if (!fused)
            {
                y = activation switch
                {
                    "Relu" => b.Node("Relu", [y]),
                    "Clip" => b.Node("Clip", [y, b.Initializer(Tensor.Scalar(-0.5f)), b.Initializer(Tensor.Scalar(0.6f))]),
                    _ => b.Node("LeakyRelu", [y], new { alpha = 0.2f }),
                };
            }
            b.Output(y);
            var model = b.Build();
            if (fused)
            {
                var gemm = model.Graph.Nodes[0];
                gemm.Attributes["fused_activation"] = AttributeValue.Of(activation);
                gemm.Attributes["fused_min"] = AttributeValue.Of(-0.5f);
                gemm.Attributes["fused_max"] = AttributeValue.Of(0.6f);
                gemm.Attributes["fused_alpha"] = AttributeValue.Of(0.2f);
            }
            return model;
        }
        var x = RandomTensors.Uniform(1, [6, 40], -2f, 2f);
        using var ort = new OrtReference(OnnxWriter.ToBytes(Build(false)), threads: 1);
        var expected = ort.Run(x)[0];
        var ours = new InferenceSession(Build(true), new SessionOptions { Optimize = false }).Run(x)[0];
        Assert.True(RandomTensors.RelativeDiff(ours, expected) <= Tolerance);
    }

    [Theory]
    [InlineData(new[] { 3, 4 }, new[] { 4, 5 }, true)]
    [InlineData(new[] { 3, 4 }, new[] { 4, 5 }, false)]
    [InlineData(new[] { 2, 3, 9, 20 }, new[] { 20, 33 }, true)]
    [InlineData(new[] { 2, 1, 4, 5 }, new[] { 3, 5, 7 }, false)]
    [InlineData(new[] { 3, 5, 7 }, new[] { 2, 1, 7, 6 }, false)]
    [InlineData(new[] { 5 }, new[] { 5, 3 }, true)]
    [InlineData(new[] { 2, 3, 4 }, new[] { 4 }, true)]
    [InlineData(new[] { 4 }, new[] { 4 }, false)]
    [InlineData(new[] { 1, 300 }, new[] { 300, 129 }, true)]
    [InlineData(new[] { 70, 65 }, new[] { 65, 100 }, false)]
    public void MatMulMatchesOnnxRuntime(int[] aShape, int[] bShape, bool constantB)
    {
        var b = new ModelBuilder();
        var a = b.Input("a", aShape);
        var bName = constantB ? b.Initializer(RandomTensors.Uniform(2, bShape)) : b.Input("b", bShape);
        b.Output(b.Node("MatMul", [a, bName]));
        var feeds = new List<Tensor> { RandomTensors.Uniform(1, aShape) };
        if (!constantB)
        {
            feeds.Add(RandomTensors.Uniform(2, bShape));
        }
        Compare(b.Build(), feeds.ToArray());
    }

    [Fact]
    public void MatMulRejectsMismatchedInnerDimensions()
    {
        var b = new ModelBuilder();
        b.Output(b.Node("MatMul", [b.Input("a", 3, 4), b.Initializer(RandomTensors.Uniform(2, [5, 6]))]));
        var session = new InferenceSession(b.Build(), new SessionOptions { Optimize = false });
        var e = Assert.Throws<InvalidModelException>(() => session.Run(RandomTensors.Uniform(1, [3, 4])));
        Assert.Contains("inner dimensions", e.Message);
    }

    private static void Compare(Model model, Tensor[] feeds)
    {
        using var ort = new OrtReference(OnnxWriter.ToBytes(model), threads: 1);
        var expected = ort.Run(feeds)[0];
        var ours = new InferenceSession(model, new SessionOptions { Optimize = false, Threads = 2 }).Run(feeds)[0];
        Assert.Equal(expected.Shape, ours.Shape);
        var diff = RandomTensors.RelativeDiff(ours, expected);
        Assert.True(diff <= Tolerance, $"relative diff {diff}");
    }
}
