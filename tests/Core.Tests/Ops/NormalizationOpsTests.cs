using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

public class NormalizationOpsTests
{
    [Theory]
    [InlineData("Softmax", 11, 1)]
    [InlineData("Softmax", 11, 2)]
    [InlineData("Softmax", 11, -1)]
    [InlineData("Softmax", 13, 1)]
    [InlineData("Softmax", 13, -1)]
    [InlineData("Softmax", 13, 0)]
    [InlineData("LogSoftmax", 11, 1)]
    [InlineData("LogSoftmax", 13, 1)]
    public void Softmax_Coerced_And_Axis_Semantics_Match_Ort(string op, int opset, int axis)
    {
        var b = new ModelBuilder(opset);
        b.Output(b.Node(op, [b.Input("x", 2, 3, 4, 5)], new { axis }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4, 5], 3f));
    }

    [Fact]
    public void Softmax_By_Hand_Differs_Between_Opset_11_And_13()
    {
        var input = Tensor.FromFloats([1, 2, 2], [0f, 0f, 0f, 0f]);
        var old = new ModelBuilder(11);
        old.Output(old.Node("Softmax", [old.Input("x", 1, 2, 2)]));
        Assert.All(OpParity.Ours(old, input)[0].Floats, v => Assert.Equal(0.25f, v, 1e-6f));
        var now = new ModelBuilder(13);
        now.Output(now.Node("Softmax", [now.Input("x", 1, 2, 2)], new { axis = 1 }));
        Assert.All(OpParity.Ours(now, input)[0].Floats, v => Assert.Equal(0.5f, v, 1e-6f));
    }

    public static TheoryData<string, int, long[]?, int> ReduceCases() => new()
    {
        { "ReduceMean", 13, new long[] { 2, 3 }, 1 },
        { "ReduceMean", 13, new long[] { 1 }, 0 },
        { "ReduceMean", 13, new long[] { 0, -1 }, 1 },
        { "ReduceMean", 13, null, 0 },
        { "ReduceMean", 18, new long[] { 2, 3 }, 1 },
        { "ReduceMean", 18, new long[] { -3 }, 0 },
        { "ReduceSum", 11, new long[] { 1 }, 1 },
        { "ReduceSum", 13, new long[] { 1, 3 }, 0 },
        { "ReduceMax", 13, new long[] { 3 }, 1 },
        { "ReduceMin", 18, new long[] { 0, 2 }, 1 },
        { "ReduceSumSquare", 13, new long[] { 2, 3 }, 1 },
        { "ReduceL2", 13, new long[] { 1 }, 0 },
        { "ReduceProd", 13, new long[] { 1 }, 1 },
    };

    [Theory]
    [MemberData(nameof(ReduceCases))]
    public void Reduce_Matches_Ort(string op, int opset, long[]? axes, int keepdims)
    {
        var b = new ModelBuilder(opset);
        var x = b.Input("x", 2, 3, 4, 5);
        var axesAsInput = opset >= 18 || (op == "ReduceSum" && opset >= 13);
        var y = axes is null ? b.Node(op, [x], new { keepdims })
            : axesAsInput ? b.Node(op, [x, b.Longs(axes)], new { keepdims })
            : b.Node(op, [x], new { axes, keepdims });
        b.Output(y);
        var low = op == "ReduceProd" ? 0.5f : -2f;
        OpParity.AssertMatchesOrt(b, RandomTensors.Uniform(1, [2, 3, 4, 5], low, 1.5f));
    }

    [Fact]
    public void ReduceMean_By_Hand()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("ReduceMean", [b.Input("x", 2, 2)], new { axes = new long[] { 0 }, keepdims = 0 }));
        var y = OpParity.Ours(b, Tensor.FromFloats([2, 2], [1, 2, 3, 6]))[0];
        Assert.Equal(new[] { 2 }, y.Shape);
        Assert.Equal(new[] { 2f, 4f }, y.Floats);
    }

    [Theory]
    [InlineData(3, 1e-4f, 0.75f, 1f)]
    [InlineData(5, 2e-2f, 0.5f, 2f)]
    [InlineData(1, 1e-3f, 0.75f, 1f)]
    public void Lrn_Matches_Ort(int size, float alpha, float beta, float bias)
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("LRN", [b.Input("x", 2, 7, 5, 6)], new { size, alpha, beta, bias }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 7, 5, 6], 3f));
    }

    [Theory]
    [InlineData(7)]
    [InlineData(10)]
    [InlineData(13)]
    public void Dropout_Is_Identity_In_Inference(int opset)
    {
        var b = new ModelBuilder(opset);
        var outs = b.NodeN("Dropout", [b.Input("x", 3, 4)], opset >= 10 ? 2 : 1);
        b.Output(outs[0]);
        if (opset >= 10)
        {
            b.Output(outs[1], DataType.Bool);
        }
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [3, 4]));
    }

    [Fact]
    public void Unsupported_Operator_Fails_Naming_The_Op_And_Node()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Einsum", [b.Input("x", 2, 2), b.Input("y", 2, 2)], new { equation = "ij,jk->ik" }));
        var e = Assert.Throws<UnsupportedOperatorException>(() => OpParity.Ours(b, RandomTensors.Normal(1, [2, 2]), RandomTensors.Normal(2, [2, 2])));
        Assert.Contains("Einsum", e.Message);
        Assert.Contains(b.Build().Graph.Nodes[0].DisplayName, e.Message);
    }

    [Fact]
    public void Data_Dependent_Shape_Input_Fails_Naming_The_Node()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Reshape", [b.Input("x", 2, 2), b.Input("s", DataType.Int64, 1)]));
        var e = Assert.ThrowsAny<InvalidModelException>(() => OpParity.Ours(b, RandomTensors.Normal(1, [2, 2]), Tensor.FromLongs([1], [4])));
        Assert.Contains("Reshape", e.Message);
        Assert.Contains(b.Build().Graph.Nodes[0].DisplayName, e.Message);
    }
}
