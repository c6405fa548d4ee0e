using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

public class ResizeTests
{
    public static TheoryData<string, string, string, float[]?, long[]?> Cases() => new()
    {
        { "nearest", "asymmetric", "floor", [1, 1, 2, 2], null },
        { "nearest", "half_pixel", "round_prefer_floor", [1, 1, 2, 3], null },
        { "nearest", "half_pixel", "round_prefer_ceil", [1, 1, 0.5f, 0.6f], null },
        { "nearest", "align_corners", "round_prefer_floor", null, [1, 2, 9, 7] },
        { "nearest", "tf_half_pixel_for_nn", "ceil", [1, 1, 1.5f, 2f], null },
        { "nearest", "tf_half_pixel_for_nn", "round_prefer_floor", [1, 1, 1.5f, 2f], null },
        { "nearest", "half_pixel", "ceil", [1, 1, 1.5f, 2f], null },
        { "nearest", "asymmetric", "ceil", [1, 1, 1.5f, 2f], null },
        { "nearest", "half_pixel", "floor", [1, 1, 1.5f, 2f], null },
        { "nearest", "pytorch_half_pixel", "round_prefer_floor", null, [1, 2, 4, 11] },
        { "linear", "half_pixel", "round_prefer_floor", [1, 1, 2, 2], null },
        { "linear", "pytorch_half_pixel", "round_prefer_floor", null, [1, 2, 1, 9] },
        { "linear", "align_corners", "round_prefer_floor", [1, 1, 1.7f, 0.5f], null },
        { "linear", "asymmetric", "round_prefer_floor", null, [1, 2, 13, 4] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Resize_Matches_Ort(string mode, string transform, string nearest, float[]? scales, long[]? sizes)
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 1, 2, 5, 6);
        var ins = scales is not null
            ? new[] { x, "", b.Floats([4], scales) }
            : new[] { x, "", "", b.Longs(sizes!) };
        b.Output(b.Node("Resize", ins, new { mode, coordinate_transformation_mode = transform, nearest_mode = nearest }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [1, 2, 5, 6]));
    }

    [Theory]
    [InlineData("nearest")]
    [InlineData("linear")]
    public void Resize_Opset_10_Matches_Ort(string mode)
    {
        var b = new ModelBuilder(10);
        b.Output(b.Node("Resize", [b.Input("x", 1, 3, 4, 5), b.Floats([4], [1, 1, 2, 1.5f])], new { mode }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [1, 3, 4, 5]));
    }

    [Fact]
    public void Resize_Opset_18_Axes_Matches_Ort()
    {
        var b = new ModelBuilder(18);
        b.Output(b.Node("Resize", [b.Input("x", 1, 3, 4, 5), "", b.Floats([2], [2, 3])], new { mode = "nearest", axes = new long[] { 2, 3 } }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [1, 3, 4, 5]));
    }

    [Fact]
    public void Nearest_Doubling_By_Hand()
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("Resize", [b.Input("x", 1, 1, 1, 2), "", b.Floats([4], [1, 1, 2, 2])], new { mode = "nearest", coordinate_transformation_mode = "asymmetric", nearest_mode = "floor" }));
        var y = OpParity.Ours(b, Tensor.FromFloats([1, 1, 1, 2], [1, 2]))[0];
        Assert.Equal(new[] { 1, 1, 2, 4 }, y.Shape);
        Assert.Equal(new[] { 1f, 1, 2, 2, 1, 1, 2, 2 }, y.Floats);
    }
}
