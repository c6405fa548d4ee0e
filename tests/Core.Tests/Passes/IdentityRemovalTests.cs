using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Passes;
using DSConvService.Core.Tests.Models;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Passes;

public class IdentityRemovalTests
{
    [Fact]
    public void Identity_Between_Nodes_Is_Removed_And_Readers_Rewired()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 4);
        var r = b.Node("Relu", [x]);
        var i = b.Node("Identity", [r]);
        b.Output(b.Node("Sigmoid", [i]));
        var model = b.Build();
        var optimized = Core.Graph.ModelCloner.Clone(model);
        Assert.Equal(1, IdentityRemoval.Run(optimized));
        Assert.Equal(0, Count(optimized, "Identity"));
        Assert.Equal(r, optimized.Graph.Nodes.Single(n => n.OpType == "Sigmoid").Inputs[0]);
        Parity.AssertClose(Parity.Compare(model, optimized, Input(1, 1, 4)));
    }

    [Fact]
    public void Identity_Producing_A_Graph_Output_Keeps_The_Output_Name()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 3);
        var r = b.Node("Relu", [x]);
        var i = b.Node("Identity", [r]);
        b.Output(i);
        var model = b.Build();
        var optimized = Core.Graph.ModelCloner.Clone(model);
        IdentityRemoval.Run(optimized);
        Assert.Equal(0, Count(optimized, "Identity"));
        Assert.Equal(i, optimized.Graph.Outputs.Single().Name);
        Assert.Equal(i, optimized.Graph.Nodes.Single().Outputs[0]);
        Parity.AssertClose(Parity.Compare(model, optimized, Input(2, 2, 3)), 0);
    }

    [Fact]
    public void Identity_From_A_Graph_Input_To_A_Graph_Output_Is_Kept()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 3);
        b.Output(b.Node("Identity", [x]));
        var model = b.Build();
        Assert.Equal(0, IdentityRemoval.Run(model));
        Assert.Equal(1, Count(model, "Identity"));
    }

    [Fact]
    public void Dropout_Is_Removed_Unless_Its_Mask_Is_Used()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 5);
        var d1 = b.Node("Dropout", [x, b.Floats([], [0.5f])]);
        var d2 = b.NodeN("Dropout", [b.Node("Relu", [d1])], 2);
        b.Output(b.Node("Sigmoid", [d2[0]]));
        b.Output(d2[1], Core.Tensors.DataType.Bool);
        var model = b.Build();
        var optimized = Core.Graph.ModelCloner.Clone(model);
        Assert.Equal(1, IdentityRemoval.Run(optimized));
        Assert.Equal(1, Count(optimized, "Dropout"));
        Assert.Equal(x, optimized.Graph.Nodes.Single(n => n.OpType == "Relu").Inputs[0]);
    }

    [Fact]
    public void Dropout_Removal_Matches_Ort()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 5);
        var d = b.Node("Dropout", [x, b.Floats([], [0.3f])]);
        b.Output(b.Node("Relu", [d]));
        var model = b.Build();
        var optimized = GraphOptimizer.Optimize(model);
        Assert.Equal(0, Count(optimized, "Dropout"));
        Parity.AssertClose(Parity.Compare(model, optimized, Input(3, 2, 5)), 0);
    }
}
