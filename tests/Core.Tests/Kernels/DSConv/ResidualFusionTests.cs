using DSConvService.Core.Execution;
using DSConvService.Core.Passes;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>Add(DSConvConv(x), skip) → Relu fused into the conv gives bit-identical outputs to the unfused graph.</summary>
public class ResidualFusionTests
{
    [Theory]
    [InlineData(1, 32, 7, 32, false, false)]
    [InlineData(2, 40, 9, 40, false, true)]
    [InlineData(1, 64, 14, 64, true, false)]
    [InlineData(2, 16, 6, 16, false, false)]
    public void Fused_Residual_Matches_The_Unfused_Graph_Exactly(int n, int c, int hw, int o, bool floatPath, bool skipFirst)
    {
        var model = ResidualBlock(n, c, hw, o, floatPath, skipFirst, constantSkip: false);
        var input = RandomTensors.Normal(11, [n, c, hw, hw]);
        var plain = new InferenceSession(model, new SessionOptions { Optimize = false, Threads = 2 }).Run(input)[0];
        var session = new InferenceSession(model, new SessionOptions { Optimize = true, Threads = 2 });
        var fused = session.Run(input)[0];

        Assert.DoesNotContain(session.Model.Graph.Nodes, x => x.OpType == "Add");
        Assert.Single(session.Model.Graph.Nodes, x => x.OpType == "Relu"); // the skip's own Relu
        var conv = Assert.Single(session.Model.Graph.Nodes, x => x.Attributes.ContainsKey(ResidualFusion.Attribute));
        Assert.Equal("Relu", conv.GetString(ActivationFusion.ActivationAttribute, ""));
        Assert.Equal(plain.Shape, fused.Shape);
        Assert.Equal(plain.Floats, fused.Floats);
        Assert.Contains(fused.Floats, v => v > 0);
    }

    [Fact]
    public void Broadcasting_Constant_Add_Is_Not_Fused()
    {
        var model = ResidualBlock(1, 32, 7, 32, false, false, constantSkip: true);
        var session = new InferenceSession(model, new SessionOptions { Optimize = true, Threads = 1 });
        Assert.Contains(session.Model.Graph.Nodes, x => x.OpType == "Add");
        var input = RandomTensors.Normal(3, [1, 32, 7, 7]);
        var plain = new InferenceSession(model, new SessionOptions { Optimize = false, Threads = 1 }).Run(input)[0];
        Assert.Equal(plain.Floats, session.Run(input)[0].Floats);
    }

    /// <summary>x → DSConvConv (3x3, pad 1) → Add(·, skip) → Relu, skip = Relu(x) (or a [1,O,1,1] constant).</summary>
    private static Graph.Model ResidualBlock(int n, int c, int hw, int o, bool floatPath, bool skipFirst, bool constantSkip)
    {
        const int k = 3, block = 32, wbits = 4;
        var rng = new Random(c * 7 + hw);
        var nb = (c + block - 1) / block;
        var q = DSConvTestData.RandomQ(rng, o * c * k * k, wbits);
        var kds = DSConvTestData.RandomFloats(rng, o * nb * k * k, 0.01f, 0.1f);
        var b = new ModelBuilder(21);
        var x = b.Input("x", n, c, hw, hw);
        var inputs = new List<string> { x, b.Initializer(new Tensor(DataType.Int4, [o, c, k, k], q)), b.Floats([o, nb, k, k], kds), b.Floats([o], DSConvTestData.RandomFloats(rng, o, -1, 1)) };
        if (floatPath)
        {
            // A KDS bias sends the layer to the float path.
            inputs.Add(b.Floats([o, nb, k, k], DSConvTestData.RandomFloats(rng, o * nb * k * k, -0.01f, 0.01f)));
        }
        var y = b.Node("DSConvConv", inputs.ToArray(), new
        {
            strides = new[] { 1, 1 }, pads = new[] { 1, 1, 1, 1 }, kernel_shape = new[] { k, k },
            block_size = block, weight_bits = wbits, activation_bits = 8, exponent_bits = 8,
        });
        var skip = constantSkip ? b.Floats([1, o, 1, 1], DSConvTestData.RandomFloats(rng, o, -1, 1)) : b.Node("Relu", [x]);
        var sum = b.Node("Add", skipFirst ? [skip, y] : [y, skip]);
        b.Output(b.Node("Relu", [sum]));
        var model = b.Build();
        model.Graph.Nodes.First(nd => nd.OpType == "DSConvConv").Domain = "ai.dsconv";
        model.Opsets["ai.dsconv"] = 1;
        return model;
    }
}
