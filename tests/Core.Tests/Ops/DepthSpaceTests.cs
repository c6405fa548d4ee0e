using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Ops;

public class DepthSpaceTests
{
    [Theory]
    [InlineData("DCR")]
    [InlineData("CRD")]
    public void DepthToSpace_Matches_Ort(string mode)
    {
        var b = new ModelBuilder(13);
        b.Output(b.Node("DepthToSpace", [b.Input("x", 2, 8, 3, 5)], new { blocksize = 2, mode }));
        OpParity.AssertMatchesOrt(b, RandomTensors.Normal(1, [2, 8, 3, 5]));
    }

    [Fact]
    public void SpaceToDepth_Matches_Ort_And_Inverts_DepthToSpace()
    {
        var b = new ModelBuilder(13);
        var s = b.Node("SpaceToDepth", [b.Input("x", 1, 3, 4, 6)], new { blocksize = 2 });
        b.Output(s).Output(b.Node("DepthToSpace", [s], new { blocksize = 2 }));
        var x = RandomTensors.Normal(1, [1, 3, 4, 6]);
        OpParity.AssertMatchesOrt(b, x);
        Assert.Equal(x.Floats, OpParity.Ours(b, x)[1].Floats);
    }
}
