using DSConvService.Core.Evaluation;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

public class OpsetUpgradeTests
{
    [Fact]
    public void OldFormsRunTheSameInOrtAfterTheUpgrade()
    {
        var b = new ModelBuilder(8);
        var x = b.Input("x", 1, 2, 4, 4);
        var scale = b.Floats([2], [1.5f, 0.5f]);
        var bias = b.Floats([2], [0.1f, -0.2f]);
        var mean = b.Floats([2], [0.3f, -0.1f]);
        var variance = b.Floats([2], [2f, 0.5f]);
        var y = b.Node("BatchNormalization", [x, scale, bias, mean, variance], new { spatial = 1L, epsilon = 1e-5f });
        y = b.Node("Clip", [y], new { min = -0.5f, max = 0.7f });
        y = b.Node("Dropout", [y], new { ratio = 0.3f });
        y = b.Node("ReduceMean", [y], new { axes = new long[] { 2, 3 }, keepdims = 0L });
        y = b.Node("Unsqueeze", [y], new { axes = new long[] { 2 } });
        var model = b.Output(y).Build();
        var input = RandomTensors.Normal(3, [1, 2, 4, 4]);

        using var original = new OrtReference(OnnxWriter.ToBytes(model), 1);
        var upgraded = Core.Graph.ModelCloner.Clone(model);
        OpsetUpgrade.ToOpset21(upgraded);
        Assert.Equal(21, upgraded.DefaultOpset);
        using var after = new OrtReference(OnnxWriter.ToBytes(upgraded), 1);
        var expected = original.Run(input)[0];
        var actual = after.Run(input)[0];
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Floats, actual.Floats);
    }
}
