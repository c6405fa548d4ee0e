using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

public class DataMovementOpsTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    public void Concat_Matches_Ort(int axis)
    {
        var b = new ModelBuilder(13);
        var a = b.Input("a", 2, 3, 4);
        var x = b.Input("x", 2, 3, 4);
        b.Output(b.Node("Concat", [a, x, a], new { axis }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4]), RandomTensors.Normal(2, [2, 3, 4]));
    }

    /// <summary>
    /// Large enough (over 2^17 elements) for the copies to be split over threads, chunks ending mid-copy; batch 1, so the
    /// session does not run the images apart on one thread each.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Large_Concat_And_Split_Match_Ort(int axis)
    {
        var b = new ModelBuilder(13);
        var a = b.Input("a", 1, 37, 39, 47);
        var x = b.Input("x", 1, 37, 39, 47);
        var c = b.Node("Concat", [a, x, a], new { axis });
        b.Output(c);
        var total = 3 * new[] { 1, 37, 39, 47 }[axis];
        foreach (var part in b.NodeN("Split", [c, b.Longs(13, 24, total - 37)], 3, new { axis }))
        {
            b.Output(part);
        }
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [1, 37, 39, 47]), RandomTensors.Normal(2, [1, 37, 39, 47]));
    }

    /// <summary>A channel shuffle and strided slices large enough for the rows to be split over threads (batch 1).</summary>
    [Fact]
    public void Large_Transpose_And_Slice_Match_Ort()
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 1, 2, 116, 28, 29);
        b.Output(b.Node("Transpose", [x], new { perm = new[] { 0, 2, 1, 3, 4 } }));
        b.Output(b.Node("Slice", [x, b.Longs(1), b.Longs(115), b.Longs(2)]));
        b.Output(b.Node("Slice", [x, b.Longs(28, 100), b.Longs(-30, 1), b.Longs(4, 2), b.Longs(-1, -1)]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(3, [1, 2, 116, 28, 29]));
    }

    [Fact]
    public void Concat_By_Hand()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Concat", [b.Input("a", 2, 1), b.Floats([2, 2], [5, 6, 7, 8])], new { axis = 1 }));
        Assert.Equal(new[] { 1f, 5, 6, 2, 7, 8 }, OpParity.Ours(b, Tensor.FromFloats([2, 1], [1, 2]))[0].Floats);
    }

    public static TheoryData<int, int, long[]?, int> SplitCases() => new()
    {
        { 11, 1, new long[] { 2, 4 }, 2 },
        { 11, 1, null, 3 },
        { 13, 1, new long[] { 1, 5 }, 2 },
        { 13, -1, null, 2 },
        { 18, 1, new long[] { 3, 3 }, 2 },
    };

    [Theory]
    [MemberData(nameof(SplitCases))]
    public void Split_Across_Opsets_Matches_Ort(int opset, int axis, long[]? split, int outputs)
    {
        var b = new ModelBuilder(opset);
        var x = b.Input("x", 2, 6, 4);
        string[] names;
        if (split is null)
        {
            names = opset >= 18 ? b.NodeN("Split", [x], outputs, new { axis, num_outputs = outputs }) : b.NodeN("Split", [x], outputs, new { axis });
        }
        else
        {
            names = opset >= 13 ? b.NodeN("Split", [x, b.Longs(split)], outputs, new { axis }) : b.NodeN("Split", [x], outputs, new { axis, split });
        }
        foreach (var n in names)
        {
            b.Output(n);
        }
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 6, 4]));
    }

    [Fact]
    public void Split_Opset_18_Uneven_Num_Outputs_Matches_Ort()
    {
        var b = new ModelBuilder(18);
        foreach (var n in b.NodeN("Split", [b.Input("x", 2, 7, 4)], 3, new { axis = 1, num_outputs = 3 }))
        {
            b.Output(n);
        }
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 7, 4]));
    }

    public static TheoryData<long[], long[], long[]?, long[]?> SliceCases() => new()
    {
        { [1], [3], null, null },
        { [0, 1], [2, -1], [0, 2], null },
        { [-3], [long.MaxValue], [1], null },
        { [5, 0], [-100, 10], [2, 1], [-2, 3] },
        { [0], [6], [-1], [2] },
        { [3], [1], [1], [1] },
    };

    [Theory]
    [MemberData(nameof(SliceCases))]
    public void Slice_With_Inputs_Matches_Ort(long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        var b = new ModelBuilder(13);
        var ins = new List<string> { b.Input("x", 4, 5, 6), b.Longs(starts), b.Longs(ends) };
        if (axes is not null || steps is not null)
        {
            ins.Add(axes is null ? "" : b.Longs(axes));
        }
        if (steps is not null)
        {
            ins.Add(b.Longs(steps));
        }
        b.Output(b.Node("Slice", ins.ToArray()));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [4, 5, 6]));
    }

    [Fact]
    public void Slice_With_Attributes_Opset_9_Matches_Ort()
    {
        var b = new ModelBuilder(9);
        b.Output(b.Node("Slice", [b.Input("x", 4, 5, 6)], new { starts = new long[] { 1, -4 }, ends = new long[] { 100, -1 }, axes = new long[] { 0, 2 } }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [4, 5, 6]));
    }

    [Theory]
    [InlineData(new[] { 0, 2, 3, 1 })]
    [InlineData(new[] { 3, 2, 1, 0 })]
    [InlineData(new[] { 1, 0, 2, 3 })]
    public void Transpose_Matches_Ort(int[] perm)
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Transpose", [b.Input("x", 2, 3, 4, 5)], new { perm }));
        b.Output(b.Node("Transpose", [b.Input("z", 3, 4)]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4, 5]), RandomTensors.Normal(2, [3, 4]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Channel_Shuffle_Transpose_With_Merged_Plane_Copies_Matches_Ort(int batch)
    {
        // [N, groups, C/groups, H, W] -> [N, C/groups, groups, H, W]: H×W planes move whole; odd sizes everywhere.
        var b = new ModelBuilder(13);
        b.Output(b.Node("Transpose", [b.Input("x", batch, 2, 7, 5, 3)], new { perm = new[] { 0, 2, 1, 3, 4 } }));
        b.Output(b.Node("Transpose", [b.Input("z", batch, 3, 1, 4, 5)], new { perm = new[] { 0, 2, 3, 1, 4 } }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [batch, 2, 7, 5, 3]), RandomTensors.Normal(2, [batch, 3, 1, 4, 5]));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    public void Squeeze_And_Unsqueeze_Across_Opsets_Match_Ort(int opset)
    {
        var b = new ModelBuilder(opset);
        var x = b.Input("x", 1, 3, 1, 4);
        if (opset < 13)
        {
            b.Output(b.Node("Squeeze", [x], new { axes = new long[] { 0, -2 } }));
            b.Output(b.Node("Unsqueeze", [x], new { axes = new long[] { 0, 5 } }));
        }
        else
        {
            b.Output(b.Node("Squeeze", [x, b.Longs(0, -2)]));
            b.Output(b.Node("Unsqueeze", [x, b.Longs(0, -1)]));
        }
        b.Output(b.Node("Squeeze", [x]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [1, 3, 1, 4]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(-1)]
    public void Gather_With_Negative_Indices_Matches_Ort(int axis)
    {
        var b = new ModelBuilder(13);
        var indices = b.Initializer(Tensor.FromLongs([2, 2], [0, -1, 1, 0]));
        b.Output(b.Node("Gather", [b.Input("x", 3, 4, 2), indices], new { axis }));
        b.Output(b.Node("Gather", [b.Input("y", 5), b.Initializer(Tensor.Scalar(-2L))], new { axis = 0 }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [3, 4, 2]), RandomTensors.Normal(2, [5]));
    }

    [Fact]
    public void Gather_With_Runtime_Indices_Matches_Ort()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Gather", [b.Input("x", 6, 3), b.Input("i", DataType.Int64, 4)], new { axis = 0 }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [6, 3]), Tensor.FromLongs([4], [5, -6, 2, 2]));
    }

    [Theory]
    [InlineData(13, null, null)]
    [InlineData(15, 1, null)]
    [InlineData(15, -3, -1)]
    [InlineData(15, 2, 100)]
    public void Shape_Folds_And_Matches_Ort(int opset, int? start, int? end)
    {
        var b = new ModelBuilder(opset);
        var x = b.Input("x", 2, 3, 4, 5);
        object? attrs = (start, end) switch
        {
            (null, null) => null,
            (int s, null) => new { start = s },
            (int s, int e) => new { start = s, end = e },
            _ => null,
        };
        var shape = b.Node("Shape", [x], attrs);
        b.Output(shape, DataType.Int64);
        var session = new Execution.InferenceSession(b.Build(), new Execution.SessionOptions { Optimize = false });
        Assert.True(session.Plan([[2, 3, 4, 5]]).ValueDescs[shape].IsConstant);
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4, 5]));
    }

    [Theory]
    [InlineData(DataType.Int64)]
    [InlineData(DataType.Int32)]
    [InlineData(DataType.Bool)]
    public void Cast_From_Float_Matches_Ort(DataType to)
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 7);
        b.Output(b.Node("Cast", [x], new { to = (long)to }), to);
        b.Output(b.Node("Cast", [b.Node("Cast", [x], new { to = (long)to })], new { to = (long)DataType.Float }));
        OpParity.AssertMatchesOrt(b, Tensor.FromFloats([7], [-2.7f, -0.5f, 0f, 0.4f, 1.5f, 2.5f, 1e6f]));
    }

    [Fact]
    public void Constant_Forms_Match_Ort()
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 3);
        b.Output(b.Node("Add", [x, b.Node("Constant", [], new { value = Tensor.FromFloats([3], [1, 2, 3]) })]));
        b.Output(b.Node("Mul", [x, b.Node("Constant", [], new { value_float = 2.5f })]));
        b.Output(b.Node("Sub", [x, b.Node("Constant", [], new { value_floats = new[] { 1f, 0f, -1f } })]));
        b.Output(b.Node("Constant", [], new { value_ints = new long[] { 4, 5 } }), DataType.Int64);
        b.Output(b.Node("Constant", [], new { value_int = 7L }), DataType.Int64);
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [3]));
    }

    [Fact]
    public void ConstantOfShape_Range_And_Expand_Match_Ort()
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 3, 1);
        var shape = b.Node("Shape", [x]);
        b.Output(b.Node("ConstantOfShape", [shape], new { value = Tensor.FromFloats([1], [1.5f]) }));
        b.Output(b.Node("ConstantOfShape", [b.Longs(2, 2)]));
        b.Output(b.Node("Range", [b.Initializer(Tensor.Scalar(1f)), b.Initializer(Tensor.Scalar(2.2f)), b.Initializer(Tensor.Scalar(0.3f))]));
        b.Output(b.Node("Range", [b.Initializer(Tensor.Scalar(10L)), b.Initializer(Tensor.Scalar(2L)), b.Initializer(Tensor.Scalar(-3L))]), DataType.Int64);
        b.Output(b.Node("Expand", [x, b.Longs(2, 1, 4)]));
        b.Output(b.Node("Expand", [x, b.Longs(1, 1)]));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [3, 1]));
    }

    public static TheoryData<int, string, long[]> PadCases() => new()
    {
        { 11, "constant", [0, 0, 1, 2, 0, 0, 2, 1] },
        { 11, "reflect", [0, 0, 2, 2, 0, 0, 1, 3] },
        { 11, "edge", [0, 1, 3, 0, 0, 0, 1, 4] },
        { 13, "constant", [0, 0, -1, 1, 0, 0, 1, -2] },
        { 19, "wrap", [0, 0, 2, 3, 0, 0, 1, 2] },
    };

    [Theory]
    [MemberData(nameof(PadCases))]
    public void Pad_Modes_Match_Ort(int opset, string mode, long[] pads)
    {
        var b = new ModelBuilder(opset);
        var ins = new List<string> { b.Input("x", 1, 2, 4, 5), b.Longs(pads) };
        if (mode == "constant")
        {
            ins.Add(b.Initializer(Tensor.FromFloats([], [0.75f])));
        }
        b.Output(b.Node("Pad", ins.ToArray(), new { mode }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [1, 2, 4, 5]));
    }

    [Fact]
    public void Pad_Opset_7_Attributes_And_Opset_18_Axes_Match_Ort()
    {
        var old = new ModelBuilder(7);
        old.Output(old.Node("Pad", [old.Input("x", 2, 3)], new { pads = new long[] { 1, 0, 0, 2 }, value = -1f }));
        OpParity.AssertMatchesOrt(old, RandomTensors.Normal(1, [2, 3]));
        var b = new ModelBuilder(18);
        b.Output(b.Node("Pad", [b.Input("x", 2, 3, 4), b.Longs(1, 1, 0, 1), b.Initializer(Tensor.FromFloats([], [0f])), b.Longs(-1, 0)], new { mode = "reflect" }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 3, 4]));
    }

    [Fact]
    public void Pad_By_Hand()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Pad", [b.Input("x", 3), b.Longs(2, 1)], new { mode = "reflect" }));
        Assert.Equal(new[] { 3f, 2, 1, 2, 3, 2 }, OpParity.Ours(b, Tensor.FromFloats([3], [1, 2, 3]))[0].Floats);
    }
}
