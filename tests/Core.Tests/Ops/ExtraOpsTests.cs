using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

/// <summary>Cheap operators beyond the core CNN set that exporters commonly write.</summary>
public class ExtraOpsTests
{
    public static TheoryData<string, int, object?> UnaryCases() => new()
    {
        { "Elu", 13, null },
        { "Elu", 13, new { alpha = 0.5f } },
        { "Selu", 13, null },
        { "Softplus", 13, null },
        { "Softsign", 13, null },
        { "Mish", 18, null },
        { "Erf", 13, null },
        { "Gelu", 20, null },
        { "Gelu", 20, new { approximate = "tanh" } },
        { "Sign", 13, null },
        { "Round", 13, null },
        { "Sin", 13, null },
        { "Cos", 13, null },
        { "ThresholdedRelu", 13, new { alpha = 0.7f } },
    };

    [Theory]
    [MemberData(nameof(UnaryCases))]
    public void Unary_Matches_Ort(string op, int opset, object? attributes)
    {
        var b = new ModelBuilder(opset);
        b.Output(b.Node(op, [b.Input("x", 4, 250)], attributes));
        var x = RandomTensors.Uniform(1, [4, 250], -6f, 6f);
        x.Floats[0] = 2.5f;
        x.Floats[1] = -0.5f;
        x.Floats[2] = 0f;
        OpParity.AssertMatchesOrt(b, x);
    }

    [Fact]
    public void Erf_Agrees_With_Known_Values()
    {
        Assert.Equal(0.0, ErfKernel.Erf(0), 15);
        Assert.Equal(0.8427007929497149, ErfKernel.Erf(1), 12);
        Assert.Equal(-0.9953222650189527, ErfKernel.Erf(-2), 12);
        Assert.Equal(0.9999999845827421, ErfKernel.Erf(4), 12);
    }

    [Fact]
    public void PRelu_Per_Channel_And_Full_Slope_Match_Ort()
    {
        var b = new ModelBuilder(16);
        var x = b.Input("x", 2, 3, 4, 5);
        b.Output(b.Node("PRelu", [x, b.Initializer(RandomTensors.Uniform(2, [3, 1, 1], 0f, 0.5f))]));
        b.Output(b.Node("PRelu", [x, b.Input("s", 2, 3, 4, 5)]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4, 5]), RandomTensors.Normal(3, [2, 3, 4, 5]));
    }

    [Fact]
    public void Sum_And_Mean_Of_Three_Broadcast_Inputs_Match_Ort()
    {
        var b = new ModelBuilder(13);
        var x = b.Input("a", 3, 1);
        var y = b.Input("b", 1, 4);
        var z = b.Input("c", 4);
        b.Output(b.Node("Sum", [x, y, z])).Output(b.Node("Mean", [x, y, z])).Output(b.Node("Mean", [x, y])).Output(b.Node("Sum", [x]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [3, 1]), RandomTensors.Normal(2, [1, 4]), RandomTensors.Normal(3, [4]));
    }

    [Fact]
    public void Logical_Ops_Match_Ort()
    {
        var b = new ModelBuilder(13);
        var p = b.Node("Greater", [b.Input("a", 2, 3), b.Initializer(Tensor.Scalar(0f))]);
        var q = b.Node("Less", [b.Input("c", 3), b.Initializer(Tensor.Scalar(0.5f))]);
        b.Output(b.Node("And", [p, q]), DataType.Bool).Output(b.Node("Or", [p, q]), DataType.Bool)
            .Output(b.Node("Xor", [p, q]), DataType.Bool).Output(b.Node("Not", [p]), DataType.Bool);
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3]), RandomTensors.Normal(2, [3]));
    }

    [Theory]
    [InlineData("ArgMax", 1, 1, 0)]
    [InlineData("ArgMax", -1, 0, 0)]
    [InlineData("ArgMin", 0, 1, 0)]
    [InlineData("ArgMax", 2, 1, 1)]
    public void ArgMax_ArgMin_Match_Ort(string op, int axis, int keepdims, int selectLast)
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node(op, [b.Input("x", 3, 4, 5)], new { axis, keepdims, select_last_index = selectLast }), DataType.Int64);
        var x = RandomTensors.Normal(1, [3, 4, 5]);
        x.Floats[0] = x.Floats[1] = 9f;
        OpParity.AssertMatchesOrt(b, x);
    }

    [Fact]
    public void Tile_Matches_Ort()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Tile", [b.Input("x", 2, 3), b.Longs(2, 3)]));
        b.Output(b.Node("Tile", [b.Input("i", DataType.Int64, 3), b.Longs(2)]), DataType.Int64);
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3]), Tensor.FromLongs([3], [4, 5, 6]));
    }

    [Fact]
    public void InstanceNormalization_Matches_Ort()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("InstanceNormalization", [b.Input("x", 2, 3, 6, 7), b.Initializer(RandomTensors.Uniform(2, [3], 0.5f, 2f)), b.Initializer(RandomTensors.Normal(3, [3]))], new { epsilon = 1e-3f }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 6, 7], 2f));
    }
}
