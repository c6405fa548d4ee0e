using DSConvService.Core.Execution;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

public class ConstantFolderTests
{
    [Fact]
    public void Arithmetic_On_Constants_Folds_At_Plan_Time_And_Is_Not_Run()
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 2);
        var k = b.Node("Mul", [b.Floats([2], [1.5f, -2f]), b.Node("Sqrt", [b.Floats([2], [4f, 9f])])]);
        var y = b.Node("Add", [x, k]);
        b.Output(y);
        var session = new InferenceSession(b.Build(), new SessionOptions { Optimize = false });
        var plan = session.Plan([[2]]);
        Assert.Equal(new[] { 3f, -6f }, plan.ValueDescs[k].Constant!.Floats);
        Assert.False(plan.ValueDescs[y].IsConstant);
        Assert.Equal(new[] { 4f, -4f }, session.Run(Tensor.FromFloats([2], [1f, 2f]))[0].Floats);
    }

    [Fact]
    public void Shape_Arithmetic_Of_A_Flatten_Pattern_Folds_Including_Integer_Math()
    {
        // Shape → Slice → ReduceProd (int64) → Unsqueeze → Concat with the batch: a computed reshape target.
        var b = new ModelBuilder(13);
        var x = b.Input("x", 3, 4, 5);
        var shape = b.Node("Shape", [x]);
        var tail = b.Node("Slice", [shape, b.Longs(1), b.Longs(3)]);
        var prod = b.Node("ReduceProd", [tail], new { keepdims = 1 });
        var batch = b.Node("Slice", [shape, b.Longs(0), b.Longs(1)]);
        var target = b.Node("Concat", [batch, prod], new { axis = 0 });
        b.Output(b.Node("Reshape", [x, target]));
        var plan = new InferenceSession(b.Build(), new SessionOptions { Optimize = false }).Plan([[3, 4, 5]]);
        Assert.Equal(new long[] { 3, 20 }, plan.ValueDescs[target].Constant!.Longs);
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [3, 4, 5]));
    }
}
