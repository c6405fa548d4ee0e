using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Graph;
using DSConvService.Core.Passes;
using DSConvService.Core.Tensors;
using DSConvService.Core.Tests.Models;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Passes;

public class ConstantFoldingTests
{
    [Fact]
    public void Constant_Nodes_Become_Initializers()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 3);
        var c = b.Node("Constant", [], new { value = Tensor.FromFloats([3], [1f, -2f, 3f]) });
        var i = b.Node("Constant", [], new { value_ints = new long[] { 3, 2 } });
        b.Output(b.Node("Reshape", [b.Node("Add", [x, c]), i]));
        var model = b.Build();
        var folded = ModelCloner.Clone(model);
        Assert.Equal(2, ConstantFolding.Run(folded));
        Assert.Equal(0, Count(folded, "Constant"));
        Assert.Equal(new float[] { 1f, -2f, 3f }, folded.Graph.Initializers[c].Floats);
        Assert.Equal(new long[] { 3, 2 }, folded.Graph.Initializers[i].Longs);
        Parity.AssertClose(Parity.Compare(model, folded, Input(4, 2, 3)), 0);
    }

    [Fact]
    public void Chains_Of_Constant_Arithmetic_Fold_Into_One_Initializer()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 4);
        var w = Weights(b, 5, 4);
        var scaled = b.Node("Mul", [w, b.Floats([1], [3f])]);
        var shifted = b.Node("Sub", [scaled, b.Floats([4], [0.5f, 1f, 1.5f, 2f])]);
        b.Output(b.Node("Add", [x, shifted]));
        var model = b.Build();
        var folded = ModelCloner.Clone(model);
        Assert.Equal(2, ConstantFolding.Run(folded));
        folded.Graph.RemoveUnused();
        Assert.Single(folded.Graph.Nodes);
        var expected = model.Graph.Initializers[w].Floats.Select((v, k) => v * 3f - (0.5f + 0.5f * k)).ToArray();
        Assert.Equal(expected, folded.Graph.Initializers[shifted].Floats);
        Parity.AssertClose(Parity.Compare(model, folded, Input(6, 2, 4)));
    }

    [Fact]
    public void Nodes_Reading_Runtime_Inputs_Or_Random_Ops_Are_Not_Folded()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 2);
        var noise = b.Node("RandomNormal", [], new { shape = new long[] { 2, 2 } });
        b.Output(b.Node("Add", [x, noise]));
        var model = b.Build();
        Assert.Equal(0, ConstantFolding.Run(model));
        Assert.Equal(2, model.Graph.Nodes.Count);
    }

    [Fact]
    public void Node_Producing_A_Graph_Output_Is_Kept()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2);
        b.Output(b.Node("Relu", [x]));
        b.Output(b.Node("Neg", [b.Floats([2], [1f, 2f])]));
        var model = b.Build();
        Assert.Equal(0, ConstantFolding.Run(model));
    }
}
