using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Graph;
using DSConvService.Core.Passes;
using DSConvService.Core.Tests.Models;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Passes;

public class BatchNormFoldingTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Conv_BatchNorm_Becomes_One_Conv(bool bias)
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 3, 7, 7);
        var y = BatchNorm(b, Conv(b, x, 3, 5, 10, bias), 5, 20);
        b.Output(b.Node("Relu", [y]));
        var model = b.Build();
        var folded = ModelCloner.Clone(model);
        Assert.Equal(1, BatchNormFolding.Run(folded));
        folded.Graph.RemoveUnused();
        Assert.Equal(0, Count(folded, "BatchNormalization"));
        var conv = folded.Graph.Nodes.Single(n => n.OpType == "Conv");
        Assert.Equal(3, conv.Inputs.Count);
        Assert.Equal(y, conv.Outputs[0]);
        Parity.AssertClose(Parity.Compare(model, folded, Input(11, 2, 3, 7, 7)), 1e-5);
    }

    [Fact]
    public void Grouped_Conv_BatchNorm_Folds_Per_Output_Channel()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 4, 6, 6);
        var conv = b.Node("Conv", [x, Weights(b, 30, 4, 1, 3, 3)], new { group = 4L, kernel_shape = new long[] { 3, 3 } });
        b.Output(BatchNorm(b, conv, 4, 31));
        var model = b.Build();
        var folded = GraphOptimizer.Optimize(model);
        Assert.Equal(0, Count(folded, "BatchNormalization"));
        Parity.AssertClose(Parity.Compare(model, folded, Input(32, 1, 4, 6, 6)), 1e-5);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public void Gemm_BatchNorm_Folds_With_Either_Weight_Layout(long transB, bool bias)
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 3, 8);
        var w = transB == 1 ? Weights(b, 40, 6, 8) : Weights(b, 40, 8, 6);
        string[] inputs = bias ? [x, w, Weights(b, 41, 6)] : [x, w];
        var gemm = b.Node("Gemm", inputs, new { transB, alpha = 0.7f, beta = 1.3f });
        b.Output(BatchNorm(b, gemm, 6, 42));
        var model = b.Build();
        var folded = ModelCloner.Clone(model);
        Assert.Equal(1, BatchNormFolding.Run(folded));
        folded.Graph.RemoveUnused();
        Assert.Equal(["Gemm"], folded.Graph.Nodes.Select(n => n.OpType));
        Parity.AssertClose(Parity.Compare(model, folded, Input(43, 3, 8)), 1e-5);
    }

    [Fact]
    public void Conv_Output_With_Another_Reader_Is_Not_Folded()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 2, 5, 5);
        var conv = Conv(b, x, 2, 2, 50);
        b.Output(b.Node("Add", [BatchNorm(b, conv, 2, 51), conv]));
        var model = b.Build();
        Assert.Equal(0, BatchNormFolding.Run(model));
        Assert.Equal(1, Count(model, "BatchNormalization"));
    }

    [Fact]
    public void Shared_Weights_Are_Not_Modified()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 2, 5, 5);
        var w = Weights(b, 60, 2, 2, 1, 1);
        var c1 = b.Node("Conv", [x, w]);
        var c2 = b.Node("Conv", [x, w]);
        b.Output(b.Node("Add", [BatchNorm(b, c1, 2, 61), c2]));
        var model = b.Build();
        var before = (float[])model.Graph.Initializers[w].Floats.Clone();
        var folded = GraphOptimizer.Optimize(model);
        Assert.Equal(before, model.Graph.Initializers[w].Floats);
        Assert.Equal(0, Count(folded, "BatchNormalization"));
        Parity.AssertClose(Parity.Compare(model, folded, Input(62, 1, 2, 5, 5)), 1e-5);
    }
}
