using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

public class ElementwiseOpsTests
{
    public static TheoryData<string, int, object?> UnaryCases() => new()
    {
        { "LeakyRelu", 7, null },
        { "LeakyRelu", 16, new { alpha = 0.3f } },
        { "LeakyRelu", 16, new { alpha = 1.7f } },
        { "Sigmoid", 13, null },
        { "HardSigmoid", 7, null },
        { "HardSigmoid", 13, new { alpha = 0.3f, beta = 0.4f } },
        { "HardSwish", 14, null },
        { "Tanh", 13, null },
        { "Exp", 13, null },
        { "Neg", 13, null },
        { "Abs", 13, null },
        { "Floor", 13, null },
        { "Ceil", 13, null },
        { "Clip", 7, new { min = -0.5f, max = 0.8f } },
        { "Clip", 7, null },
        { "Relu", 14, null },
    };

    [Theory]
    [MemberData(nameof(UnaryCases))]
    public void Unary_Matches_Ort(string op, int opset, object? attributes)
    {
        var b = new ModelBuilder(opset);
        b.Output(b.Node(op, [b.Input("x", 3, 5, 67)], attributes));
        OpParity.AssertMatchesOrt(b, RandomTensors.Uniform(1, [3, 5, 67], -4f, 4f));
    }

    [Theory]
    [InlineData("Sqrt")]
    [InlineData("Log")]
    [InlineData("Reciprocal")]
    public void Positive_Domain_Unary_Matches_Ort(string op)
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node(op, [b.Input("x", 2, 1000)]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Uniform(1, [2, 1000], 0.01f, 50f));
    }

    [Fact]
    public void Large_Unary_Runs_On_Threads_And_Matches_Ort()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Sigmoid", [b.Node("Relu", [b.Input("x", 1, 64, 56, 56)])]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [1, 64, 56, 56]));
    }

    [Fact]
    public void Clip_By_Hand_And_Bound_Inputs_From_Opset_11()
    {
        var b = new ModelBuilder(11);
        var x = b.Input("x", 5);
        b.Output(b.Node("Clip", [x, b.Initializer(Tensor.Scalar(0f)), b.Initializer(Tensor.Scalar(6f))]));
        b.Output(b.Node("Clip", [x, "", b.Initializer(Tensor.Scalar(1f))]));
        b.Output(b.Node("Clip", [x]));
        var input = Tensor.FromFloats([5], [-3f, 0.5f, 2f, 6.5f, 9f]);
        var ours = OpParity.Ours(b, input);
        Assert.Equal(new[] { 0f, 0.5f, 2f, 6f, 6f }, ours[0].Floats);
        Assert.Equal(new[] { -3f, 0.5f, 1f, 1f, 1f }, ours[1].Floats);
        OpParity.AssertMatchesOrt(b, input);
    }

    [Fact]
    public void LeakyRelu_And_HardSwish_By_Hand()
    {
        var b = new ModelBuilder(14);
        var x = b.Input("x", 4);
        b.Output(b.Node("LeakyRelu", [x], new { alpha = 0.5f })).Output(b.Node("HardSwish", [x]));
        var ours = OpParity.Ours(b, Tensor.FromFloats([4], [-4f, -1f, 0f, 3f]));
        Assert.Equal(new[] { -2f, -0.5f, 0f, 3f }, ours[0].Floats);
        // x · clamp(x/6 + 1/2, 0, 1)
        var hardSwish = new[] { 0f, -1f / 3f, 0f, 3f };
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(hardSwish[i], ours[1].Floats[i], 1e-6f);
        }
    }

    [Theory]
    [InlineData("Equal")]
    [InlineData("Less")]
    [InlineData("Greater")]
    [InlineData("LessOrEqual")]
    [InlineData("GreaterOrEqual")]
    public void Comparisons_Match_Ort(string op)
    {
        var b = new ModelBuilder(16);
        b.Output(b.Node(op, [b.Input("a", 3, 4), b.Input("b", 4)]), DataType.Bool);
        var a = Tensor.FromFloats([3, 4], [1, 2, 3, 4, 4, 3, 2, 1, 0, 2, 2, 5]);
        OpParity.AssertMatchesOrt(b, a, Tensor.FromFloats([4], [1, 2, 2, 4]));
    }

    [Fact]
    public void Where_Broadcasts_Three_Ways_And_Matches_Ort()
    {
        var b = new ModelBuilder(16);
        var c = b.Node("Greater", [b.Input("a", 3, 1), b.Input("t", 1, 4)]);
        b.Output(b.Node("Where", [c, b.Input("x", 3, 4), b.Input("y", 4)]));
        var expected = OpParity.Ours(b, Tensor.FromFloats([3, 1], [0, 1, 2]), Tensor.FromFloats([1, 4], [0.5f, 1.5f, -1, 5]),
            RandomTensors.Normal(1, [3, 4]), Tensor.FromFloats([4], [10, 20, 30, 40]))[0];
        // Row a=0 against t: false, false, true, false → y, y, x, y.
        Assert.Equal(new[] { 10f, 20f, 40f }, new[] { expected.Floats[0], expected.Floats[1], expected.Floats[3] });
        OpParity.AssertMatchesOrt(b, Tensor.FromFloats([3, 1], [0, 1, 2]), Tensor.FromFloats([1, 4], [0.5f, 1.5f, -1, 5]),
            RandomTensors.Normal(1, [3, 4]), Tensor.FromFloats([4], [10, 20, 30, 40]));
    }

    [Fact]
    public void Variadic_Max_Matches_Ort()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Max", [b.Input("a", 3, 1), b.Input("b", 1, 4), b.Input("c", 4)]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [3, 1]), RandomTensors.Normal(2, [1, 4]), RandomTensors.Normal(3, [4]));
    }

    [Fact]
    public void Pow_With_Int64_Exponent_Matches_Ort()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Pow", [b.Input("a", 2, 3), b.Initializer(Tensor.FromLongs([3], [2, 3, 0]))]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3]));
    }
}
