using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels;

/// <summary>Our Conv operator against ONNX Runtime on generated single-Conv models.</summary>
public sealed class ConvOpTests
{
    private const double Tolerance = 1e-5;

    /// <summary>One Conv case: input [N,C,H,W] (H = 0 for 1-D), weight [O, C/group, KH, KW].</summary>
    public sealed record Case(string Name, int N, int C, int H, int W, int O, int KH, int KW, int Group = 1,
        int[]? Strides = null, int[]? Dilations = null, int[]? Pads = null, string? AutoPad = null, bool Bias = true)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases() =>
    [
        new("3x3 pad 1", 1, 3, 9, 11, 5, 3, 3, Pads: [1, 1, 1, 1]),
        new("7x7 stride 2 pad 3 batch 2", 2, 3, 23, 20, 8, 7, 7, Strides: [2, 2], Pads: [3, 3, 3, 3]),
        new("7x7 stride 2 wide rows", 1, 3, 9, 97, 8, 7, 7, Strides: [2, 2], Pads: [3, 2, 3, 4]),
        new("3x3 stride 2 wide rows", 1, 4, 6, 120, 5, 3, 3, Strides: [2, 2], Pads: [1, 1, 1, 1]),
        new("1x1 no bias", 1, 17, 6, 7, 33, 1, 1, Bias: false),
        new("1x1 stride 2", 1, 16, 9, 9, 24, 1, 1, Strides: [2, 2]),
        new("1x1 batch 3", 3, 16, 9, 9, 24, 1, 1),
        new("batch 4 on a 7x7 map", 4, 64, 7, 7, 130, 3, 3, Pads: [1, 1, 1, 1]),
        new("groups 3", 1, 12, 8, 8, 18, 3, 3, Group: 3, Pads: [1, 1, 1, 1]),
        new("groups 2 batch 3 odd channels", 3, 14, 7, 9, 10, 3, 3, Group: 2, Pads: [0, 1, 1, 0]),
        new("depthwise", 2, 10, 9, 8, 10, 3, 3, Group: 10, Pads: [1, 1, 1, 1]),
        new("depthwise multiplier 2 no bias", 1, 6, 10, 12, 12, 3, 3, Group: 6, Pads: [1, 1, 1, 1], Bias: false),
        new("depthwise stride 2 dilation 2", 1, 8, 13, 14, 8, 3, 3, Group: 8, Strides: [2, 2], Dilations: [2, 2], Pads: [2, 2, 2, 2]),
        new("depthwise 5x5 stride 2 same upper", 1, 5, 11, 16, 5, 5, 5, Group: 5, Strides: [2, 2], AutoPad: "SAME_UPPER"),
        new("dilation 2", 1, 5, 12, 12, 7, 3, 3, Dilations: [2, 2], Pads: [2, 2, 2, 2]),
        new("dilation (1,3) asymmetric pads", 1, 4, 10, 15, 6, 3, 3, Dilations: [1, 3], Pads: [0, 1, 2, 3]),
        new("stride (2,1)", 2, 6, 11, 10, 9, 3, 3, Strides: [2, 1], Pads: [1, 1, 1, 1]),
        new("same upper stride 2", 1, 5, 11, 13, 7, 3, 3, Strides: [2, 2], AutoPad: "SAME_UPPER"),
        new("same lower stride 2", 1, 5, 11, 13, 7, 4, 4, Strides: [2, 2], AutoPad: "SAME_LOWER"),
        new("valid", 1, 5, 11, 13, 7, 3, 3, AutoPad: "VALID"),
        new("5x3 kernel", 1, 7, 12, 9, 11, 5, 3, Pads: [2, 1, 2, 1]),
        new("K blocking and column split", 1, 64, 28, 28, 64, 3, 3, Pads: [1, 1, 1, 1]),
        new("row split (7x7 map, 512 filters)", 1, 256, 7, 7, 512, 3, 3, Pads: [1, 1, 1, 1]),
        new("1-D stride 2", 2, 5, 0, 17, 6, 1, 3, Strides: [2], Pads: [1, 2]),
        new("1-D groups dilation", 1, 6, 0, 20, 9, 1, 3, Group: 3, Dilations: [2], Pads: [2, 1]),
        new("1-D same lower", 1, 4, 0, 21, 5, 1, 4, Strides: [3], AutoPad: "SAME_LOWER"),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesOnnxRuntime(Case c)
    {
        var (model, x) = Build(c, null);
        var ours = Run(model, x);
        using var ort = new OrtReference(OnnxWriter.ToBytes(model), threads: 1);
        var expected = ort.Run(x)[0];
        Assert.Equal(expected.Shape, ours.Shape);
        var diff = RandomTensors.RelativeDiff(ours, expected);
        Assert.True(diff <= Tolerance, $"{c.Name}: relative diff {diff}");
    }

    [Theory]
    [InlineData("Relu", false)]
    [InlineData("Clip", false)]
    [InlineData("LeakyRelu", false)]
    [InlineData("Relu", true)]
    [InlineData("Clip", true)]
    [InlineData("LeakyRelu", true)]
    public void FusedActivationMatchesConvFollowedByActivation(string activation, bool depthwise)
    {
        var c = depthwise
            ? new Case("dw", 1, 8, 9, 9, 8, 3, 3, Group: 8, Pads: [1, 1, 1, 1])
            : new Case("conv", 1, 6, 9, 9, 20, 3, 3, Pads: [1, 1, 1, 1]);
        var (reference, x) = Build(c, activation);
        using var ort = new OrtReference(OnnxWriter.ToBytes(reference), threads: 1);
        var expected = ort.Run(x)[0];

        var (fused, _) = Build(c, null);
        var conv = fused.Graph.Nodes[0];
        conv.Attributes["fused_activation"] = AttributeValue.Of(activation);
        conv.Attributes["fused_min"] = AttributeValue.Of(-0.3f);
        conv.Attributes["fused_max"] = AttributeValue.Of(0.4f);
        conv.Attributes["fused_alpha"] = AttributeValue.Of(0.15f);
        var ours = Run(fused, x);
        var diff = RandomTensors.RelativeDiff(ours, expected);
        Assert.True(diff <= Tolerance, $"{activation}: relative diff {diff}");
    }

    [Theory]
    [MemberData(nameof(GemmKernelTests.Isas), MemberType = typeof(GemmKernelTests))]
    public void EveryGemmKernelGivesTheSameConvolutions(GemmIsa isa)
    {
        using var forced = GemmKernels.Force(isa);
        foreach (var c in new[]
        {
            new Case("3x3", 2, 5, 11, 13, 7, 3, 3, Pads: [1, 1, 1, 1]),
            new Case("7x7 stride 2 groups", 1, 4, 30, 30, 10, 7, 7, Group: 2, Strides: [2, 2], Pads: [3, 3, 3, 3]),
            new Case("1x1 on 7x7 batch 3", 3, 64, 7, 7, 50, 1, 1),
        })
        {
            var (model, x) = Build(c, null);
            var ours = Run(model, x);
            using var ort = new OrtReference(OnnxWriter.ToBytes(model), threads: 1);
            var diff = RandomTensors.RelativeDiff(ours, ort.Run(x)[0]);
            Assert.True(diff <= Tolerance, $"{isa} {c.Name}: relative diff {diff}");
        }
    }

    [Fact]
    public void RejectsThreeDimensionalConvolution()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 2, 4, 4, 4);
        var w = b.Initializer(RandomTensors.Uniform(1, [3, 2, 3, 3, 3]));
        b.Output(b.Node("Conv", [x, w]));
        var e = Assert.Throws<InvalidModelException>(() => new InferenceSession(b.Build(), new SessionOptions { Optimize = false }));
        Assert.Contains("3-D", e.Message);
    }

    [Fact]
    public void RunIsRepeatableAndThreadCountIndependent()
    {
        var (model, x) = Build(new Case("big", 1, 32, 20, 20, 48, 3, 3, Pads: [1, 1, 1, 1]), null);
        var one = new InferenceSession(model, new SessionOptions { Optimize = false, Threads = 1 }).Run(x)[0];
        var two = new InferenceSession(model, new SessionOptions { Optimize = false, Threads = 2 });
        Assert.Equal(one.Floats, two.Run(x)[0].Floats);
        Assert.Equal(one.Floats, two.Run(x)[0].Floats);
    }

    private static Tensor Run(Model model, Tensor x) =>
        new InferenceSession(model, new SessionOptions { Optimize = false, Threads = 2 }).Run(x)[0];

    private static (Model Model, Tensor X) Build(Case c, string? activationNode)
    {
        var oneD = c.H == 0;
        int[] xShape = oneD ? [c.N, c.C, c.W] : [c.N, c.C, c.H, c.W];
        int[] wShape = oneD ? [c.O, c.C / c.Group, c.KW] : [c.O, c.C / c.Group, c.KH, c.KW];
        var b = new ModelBuilder();
        var x = b.Input("x", xShape);
        var inputs = new List<string> { x, b.Initializer(RandomTensors.Uniform(11, wShape)) };
        if (c.Bias)
        {
            inputs.Add(b.Initializer(RandomTensors.Uniform(12, [c.O])));
        }
        var y = b.Node("Conv", inputs.ToArray());
        y = activationNode switch
        {
            null => y,
            "Relu" => b.Node("Relu", [y]),
            "Clip" => b.Node("Clip", [y, b.Initializer(Tensor.Scalar(-0.3f)), b.Initializer(Tensor.Scalar(0.4f))]),
            "LeakyRelu" => b.Node("LeakyRelu", [y], new { alpha = 0.15f }),
            _ => throw new ArgumentException(activationNode),
        };
        b.Output(y);
        var model = b.Build();
        var conv = model.Graph.Nodes[0];
        conv.Attributes["group"] = AttributeValue.Of((long)c.Group);
        void Set(string name, int[]? v)
        {
            if (v is not null)
            {
                conv.Attributes[name] = AttributeValue.Of(v.Select(i => (long)i).ToArray());
            }
        }
        Set("strides", c.Strides);
        Set("dilations", c.Dilations);
        Set("pads", c.Pads);
        if (c.AutoPad is not null)
        {
            conv.Attributes["auto_pad"] = AttributeValue.Of(c.AutoPad);
        }
        conv.Attributes["kernel_shape"] = AttributeValue.Of(wShape.Skip(2).Select(i => (long)i).ToArray());
        return (model, RandomTensors.Uniform(13, xShape));
    }
}
