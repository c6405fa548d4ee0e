using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

/// <summary>The operators the ResNet models need, by hand and against ONNX Runtime.</summary>
public class ResNetOpsTests
{
    [Fact]
    public void Relu_Zeroes_Negatives()
    {
        var b = new ModelBuilder();
        b.Output(b.Node("Relu", [b.Input("x", 4)]));
        var y = OpParity.Ours(b, Tensor.FromFloats([4], [-1f, 0f, 2.5f, -0.1f]))[0];
        Assert.Equal(new[] { 0f, 0f, 2.5f, 0f }, y.Floats);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(13)]
    public void Relu_Matches_Ort(int opset)
    {
        var b = new ModelBuilder(opset);
        b.Output(b.Node("Relu", [b.Input("x", 2, 3, 17, 19)]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 17, 19]));
    }

    [Fact]
    public void BatchNormalization_By_Hand()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 2, 1, 2);
        var y = b.Node("BatchNormalization", [x, b.Floats([2], [1f, 2f]), b.Floats([2], [0f, 1f]), b.Floats([2], [1f, -1f]), b.Floats([2], [4f, 1f])], new { epsilon = 0f });
        b.Output(y);
        var r = OpParity.Ours(b, Tensor.FromFloats([1, 2, 1, 2], [3f, 5f, 0f, 1f]))[0];
        // channel 0: (x-1)/2·1 + 0; channel 1: (x+1)/1·2 + 1
        Assert.Equal(new[] { 1f, 2f, 3f, 5f }, r.Floats);
    }

    [Theory]
    [InlineData(7, 1, 5, 7, 7)]
    [InlineData(9, 2, 16, 9, 11)]
    [InlineData(15, 1, 3, 1, 1)]
    [InlineData(14, 3, 40, 1, 1)]
    public void BatchNormalization_Matches_Ort(int opset, int n, int c, int h, int w)
    {
        var b = new ModelBuilder(opset);
        // h = w = 1 with more than one sample also checks the 2-D [N, C] form.
        int[] shape = h == 1 && w == 1 && n > 1 ? [n, c] : [n, c, h, w];
        var x = b.Input("x", shape);
        var scale = b.Initializer(RandomTensors.Uniform(2, [c], 0.5f, 2f));
        var bias = b.Initializer(RandomTensors.Normal(3, [c]));
        var mean = b.Initializer(RandomTensors.Normal(4, [c]));
        var variance = b.Initializer(RandomTensors.Uniform(5, [c], 0.1f, 3f));
        b.Output(b.Node("BatchNormalization", [x, scale, bias, mean, variance], new { epsilon = 1e-3f }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, shape));
    }

    /// <summary>
    /// Convolutions of 16–64 channels: the direct kernel on wide output rows, the im2col GEMM on narrow ones
    /// (FewChannelConv.RowsAreWide), the same operator for both; bias, Relu fusion and batch 2.
    /// </summary>
    [Theory]
    [InlineData(16, 24, 28, 3, 1, 1)]
    [InlineData(17, 8, 27, 3, 2, 1)]
    [InlineData(64, 64, 7, 3, 1, 1)]
    [InlineData(32, 16, 14, 5, 1, 2)]
    [InlineData(48, 20, 11, 3, 1, 0)]
    [InlineData(20, 13, 9, 3, 1, 1)]
    [InlineData(3, 8, 6, 5, 1, 2)]
    public void Conv_Of_Up_To_64_Channels_Matches_Ort_On_Wide_And_Narrow_Rows(int c, int o, int size, int k, int stride, int pad)
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, c, size, size);
        var w = b.Initializer(RandomTensors.Normal(c, [o, c, k, k], 0.2f));
        var bias = b.Initializer(RandomTensors.Normal(o, [o]));
        var conv = b.Node("Conv", [x, w, bias], new { kernel_shape = new[] { k, k }, strides = new[] { stride, stride }, pads = new[] { pad, pad, pad, pad } });
        b.Output(b.Node("Relu", [conv]));
        // Planning from shapes alone (no kernel built) takes the same path decision as a plan with its kernels.
        var plan = new Execution.InferenceSession(b.Build(), new Execution.SessionOptions { Optimize = false }).Plan([[2, c, size, size]]);
        Assert.Equal(plan.ScratchFloats * sizeof(float), Execution.ActivationMemory.Estimate(b.Build()).ScratchBytes);
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, c, size, size]));
    }

    [Fact]
    public void Add_Broadcasts_Per_Channel_By_Hand()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 2, 1, 2);
        b.Output(b.Node("Add", [x, b.Floats([2, 1, 1], [10f, 20f])]));
        var y = OpParity.Ours(b, Tensor.FromFloats([1, 2, 1, 2], [1f, 2f, 3f, 4f]))[0];
        Assert.Equal(new[] { 11f, 12f, 23f, 24f }, y.Floats);
    }

    public static TheoryData<string, int[], int[]> BroadcastCases() => new()
    {
        { "Add", [2, 3, 4, 5], [2, 3, 4, 5] },
        { "Add", [2, 64, 30, 30], [2, 64, 30, 30] },
        { "Add", [2, 3, 4, 5], [3, 1, 1] },
        { "Sub", [2, 3, 4, 5], [5] },
        { "Sub", [1], [2, 3, 4, 5] },
        { "Mul", [2, 1, 4, 1], [1, 3, 1, 5] },
        { "Mul", [2, 32, 40, 40], [1, 32, 1, 1] },
        { "Div", [3, 1], [1, 4] },
        { "Div", [2, 3, 4, 5], [2, 3, 4, 1] },
        { "Add", [], [2, 3] },
        { "Mul", [2, 0, 3], [1, 3] },
        { "Pow", [4, 6], [6] },
        { "Max", [4, 6], [4, 1] },
        { "Min", [1, 6], [4, 1] },
    };

    [Theory]
    [MemberData(nameof(BroadcastCases))]
    public void Binary_Float_Matches_Ort(string op, int[] a, int[] bShape)
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node(op, [b.Input("a", a), b.Input("b", bShape)]));
        var low = op == "Pow" ? 0.1f : -2f;
        var bt = RandomTensors.Uniform(2, bShape, 0.5f, 2f);
        OpParity.AssertMatchesOrt(b, RandomTensors.Uniform(1, a, low, 2f), bt);
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("Sub")]
    [InlineData("Mul")]
    [InlineData("Div")]
    public void Binary_Int64_Matches_Ort(string op)
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node(op, [b.Input("a", DataType.Int64, 2, 3), b.Input("b", DataType.Int64, 3)]), DataType.Int64);
        OpParity.AssertMatchesOrt(b, Tensor.FromLongs([2, 3], [7, -7, 9, 100, -5, 3]), Tensor.FromLongs([3], [2, 3, -4]));
    }

    public static TheoryData<string, object> PoolCases() => new()
    {
        { "MaxPool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 } } },
        { "MaxPool", new { kernel_shape = new[] { 2, 2 } } },
        { "MaxPool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, ceil_mode = 1 } },
        { "MaxPool", new { kernel_shape = new[] { 3, 2 }, strides = new[] { 2, 3 }, pads = new[] { 1, 0, 2, 1 }, ceil_mode = 1 } },
        { "MaxPool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 1, 2 }, dilations = new[] { 2, 2 }, pads = new[] { 2, 1, 2, 1 } } },
        { "MaxPool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, auto_pad = "SAME_UPPER" } },
        { "MaxPool", new { kernel_shape = new[] { 4, 4 }, strides = new[] { 3, 3 }, auto_pad = "SAME_LOWER" } },
        { "MaxPool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, auto_pad = "VALID" } },
        { "AveragePool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 } } },
        { "AveragePool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 }, count_include_pad = 1 } },
        { "AveragePool", new { kernel_shape = new[] { 2, 2 } } },
        { "AveragePool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, ceil_mode = 1 } },
        { "AveragePool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 }, ceil_mode = 1, count_include_pad = 1 } },
        { "AveragePool", new { kernel_shape = new[] { 3, 2 }, strides = new[] { 2, 3 }, pads = new[] { 1, 0, 2, 1 }, ceil_mode = 1 } },
        { "AveragePool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, auto_pad = "SAME_UPPER" } },
        { "AveragePool", new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, auto_pad = "SAME_LOWER", count_include_pad = 1 } },
        { "AveragePool", new { kernel_shape = new[] { 7, 7 } } },
    };

    [Theory]
    [MemberData(nameof(PoolCases))]
    public void Pool_Matches_Ort(string op, object attributes)
    {
        var b = new ModelBuilder(19);
        b.Output(b.Node(op, [b.Input("x", 2, 3, 11, 13)], attributes));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 11, 13]));
    }

    /// <summary>Enough planes (2 × 37, the last block partial) for the channel-blocked max pool.</summary>
    [Theory]
    [MemberData(nameof(PoolCases))]
    public void Pool_On_Many_Channels_Matches_Ort(string op, object attributes)
    {
        var b = new ModelBuilder(19);
        b.Output(b.Node(op, [b.Input("x", 2, 37, 11, 13)], attributes));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(2, [2, 37, 11, 13]));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(11)]
    [InlineData(13)]
    public void Pools_Across_Opsets_Match_Ort(int opset)
    {
        var b = new ModelBuilder(opset);
        var x = b.Input("x", 1, 8, 112, 112);
        var m = b.Node("MaxPool", [x], new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 } });
        var a = b.Node("AveragePool", [m], new { kernel_shape = new[] { 2, 2 }, strides = new[] { 2, 2 } });
        b.Output(m).Output(a).Output(b.Node("GlobalAveragePool", [a])).Output(b.Node("GlobalMaxPool", [a]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [1, 8, 112, 112]));
    }

    [Fact]
    public void MaxPool_1D_And_Indices_Match_Ort()
    {
        var b = new ModelBuilder(12);
        b.Output(b.Node("MaxPool", [b.Input("x", 2, 3, 17)], new { kernel_shape = new[] { 3 }, strides = new[] { 2 }, pads = new[] { 1, 1 } }));
        var outs = b.NodeN("MaxPool", [b.Input("z", 1, 2, 5, 6)], 2, new { kernel_shape = new[] { 2, 2 }, strides = new[] { 2, 2 } });
        b.Output(outs[0]).Output(outs[1], DataType.Int64);
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 17]), RandomTensors.Normal(2, [1, 2, 5, 6]));
    }

    [Fact]
    public void GlobalAveragePool_By_Hand()
    {
        var b = new ModelBuilder();
        b.Output(b.Node("GlobalAveragePool", [b.Input("x", 1, 2, 2, 2)]));
        var y = OpParity.Ours(b, Tensor.FromFloats([1, 2, 2, 2], [1f, 2f, 3f, 4f, -1f, -1f, -1f, 3f]))[0];
        Assert.Equal(new[] { 1, 2, 1, 1 }, y.Shape);
        Assert.Equal(new[] { 2.5f, 0f }, y.Floats);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(3)]
    public void Flatten_Matches_Ort(int axis)
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Flatten", [b.Input("x", 2, 3, 4)], new { axis }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4]));
    }

    [Theory]
    [InlineData(new long[] { 0, -1 }, 0)]
    [InlineData(new long[] { 6, 4 }, 0)]
    [InlineData(new long[] { -1 }, 0)]
    [InlineData(new long[] { 2, 0, 2, 2 }, 0)]
    [InlineData(new long[] { 4, 2, 3 }, 1)]
    public void Reshape_Matches_Ort(long[] shape, int allowzero)
    {
        var b = new ModelBuilder(14);
        b.Output(b.Node("Reshape", [b.Input("x", 2, 3, 4), b.Longs(shape)], new { allowzero }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4]));
    }

    [Fact]
    public void Reshape_Folds_A_Shape_Subgraph_To_A_Constant()
    {
        // Shape → Gather → Unsqueeze → Concat → Reshape, the flatten pattern exporters write.
        var b = new ModelBuilder(13);
        var x = b.Input("x", 2, 3, 4);
        var shape = b.Node("Shape", [x]);
        var n = b.Node("Gather", [shape, b.Initializer(Tensor.Scalar(0L))], new { axis = 0 });
        var n1 = b.Node("Unsqueeze", [n, b.Longs(0)]);
        var target = b.Node("Concat", [n1, b.Longs(-1)], new { axis = 0 });
        var y = b.Node("Reshape", [x, target]);
        b.Output(y);
        var session = new Execution.InferenceSession(b.Build(), new Execution.SessionOptions { Optimize = false });
        var plan = session.Plan([[2, 3, 4]]);
        Assert.True(plan.ValueDescs[target].IsConstant);
        Assert.Equal(new long[] { 2, -1 }, plan.ValueDescs[target].Constant!.Longs);
        Assert.Equal(new[] { 2, 12 }, plan.ValueDescs[y].Shape);
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4]));
    }
}
