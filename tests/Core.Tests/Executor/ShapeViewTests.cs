using DSConvService.Core.Execution;
using DSConvService.Core.Tests.Models;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Executor;

/// <summary>Reshape / Flatten / Squeeze / Unsqueeze of a computed value are views of its array, not copies.</summary>
public class ShapeViewTests
{
    [Fact]
    public void Shape_Changes_Of_Computed_Values_Share_The_Array_And_Match_OnnxRuntime()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 3, 4, 5);
        var relu = b.Node("Relu", [x]);
        var reshaped = b.Node("Reshape", [relu, b.Longs(2, 3, 20)]);
        var flat = b.Node("Flatten", [reshaped], new { axis = 1L });
        var unsq = b.Node("Unsqueeze", [flat, b.Longs(1)]);
        var y = b.Node("Sigmoid", [unsq]);
        b.Output(y);
        b.Output(unsq);
        var onnx = b.ToBytes();
        var session = new InferenceSession(b.Build(), new SessionOptions { Optimize = false });
        var input = RandomTensors.Uniform(1, [2, 3, 4, 5], -2f, 2f);
        var plan = session.Plan([[2, 3, 4, 5]]);
        plan.Run([input]);
        Assert.Same(plan.Value(relu).Data, plan.Value(reshaped).Data);
        Assert.Same(plan.Value(relu).Data, plan.Value(unsq).Data);
        Assert.Equal([2, 1, 60], plan.Value(unsq).Shape);
        Parity.AssertClose(Parity.Compare(onnx, input), 1e-6);
    }

    [Fact]
    public void Shape_Change_Of_A_Graph_Input_Copies_The_Data_Of_Each_Run()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 6);
        b.Output(b.Node("Relu", [b.Node("Reshape", [x, b.Longs(3, 4)])]));
        var session = new InferenceSession(b.Build(), new SessionOptions { Optimize = false });
        for (var seed = 1; seed <= 3; seed++)
        {
            var input = RandomTensors.Uniform(seed, [2, 6]);
            var y = session.Run(input)[0];
            Assert.Equal([3, 4], y.Shape);
            Assert.Equal(input.Floats.Select(v => Math.Max(v, 0f)), y.Floats);
        }
    }
}
