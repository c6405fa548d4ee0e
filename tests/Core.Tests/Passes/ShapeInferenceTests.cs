using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Passes;

public class ShapeInferenceTests
{
    [Fact]
    public void Shapes_Of_A_Conv_Pool_Fc_Chain_Are_Recorded_With_Batch_One_By_Default()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", -1, 3, 10, 10);
        var conv = b.Node("Conv", [x, Weights(b, 1, 8, 3, 3, 3)], new { strides = new long[] { 2, 2 }, kernel_shape = new long[] { 3, 3 } });
        var pool = b.Node("MaxPool", [conv], new { kernel_shape = new long[] { 2, 2 }, strides = new long[] { 2, 2 } });
        var flat = b.Node("Flatten", [pool]);
        var fc = b.Node("Gemm", [flat, Weights(b, 2, 5, 32)], new { transB = 1L });
        b.Output(fc);
        var model = b.Build();
        ShapeInference.Run(model);
        // conv: (10 - 3) / 2 + 1 = 4; pool: 4 / 2 = 2; flatten: 8 * 2 * 2 = 32.
        Assert.Equal([1, 8, 4, 4], model.Graph.ValueInfos[conv].Shape!);
        Assert.Equal([1, 8, 2, 2], model.Graph.ValueInfos[pool].Shape!);
        Assert.Equal([1, 32], model.Graph.ValueInfos[flat].Shape!);
        Assert.Equal([1, 5], model.Graph.ValueInfos[fc].Shape!);
    }

    [Fact]
    public void Given_Input_Shapes_Give_Output_Shapes_Like_Ort()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", -1, 2, 9, 7);
        var conv = b.Node("Conv", [x, Weights(b, 3, 4, 2, 3, 3)], new { pads = new long[] { 1, 0, 1, 0 }, kernel_shape = new long[] { 3, 3 } });
        var shape = b.Node("Shape", [conv]);
        b.Output(b.Node("Reshape", [conv, b.Longs(0, -1)]));
        var model = b.Build();
        using var ort = new OrtReference(b.ToBytes(), 1);
        var expected = ort.Run(Input(5, 3, 2, 9, 7));
        var descs = ShapeInference.Run(model, [[3, 2, 9, 7]]);
        Assert.Equal(expected[0].Shape, model.Graph.ValueInfos[model.Graph.Outputs[0].Name].Shape!);
        Assert.Equal(new long[] { 3, 4, 9, 5 }, descs[shape].Constant!.ToLongs());
    }
}
