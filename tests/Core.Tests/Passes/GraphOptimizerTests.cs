using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Passes;

public class GraphOptimizerTests
{
    [SkippableFact]
    public void LeNet_Loses_Its_BatchNorms_And_Conv_Relus()
    {
        var model = OnnxReader.Load(TestData.SharedFile("models/lenet_bn.onnx"));
        var nodesBefore = model.Graph.Nodes.Count;
        var optimized = GraphOptimizer.Optimize(model);
        Assert.Equal(nodesBefore, model.Graph.Nodes.Count);
        Assert.Equal(0, Count(optimized, "BatchNormalization"));
        // conv-BN-ReLU x3 and FC-ReLU: every Relu follows a Conv or Gemm.
        Assert.Equal(0, Count(optimized, "Relu"));
        Assert.Equal(4, optimized.Graph.Nodes.Count(n => n.GetString("fused_activation", "") == "Relu"));
        Assert.Equal(model.Graph.Outputs.Select(o => o.Name), optimized.Graph.Outputs.Select(o => o.Name));
    }

    [SkippableFact]
    public void ResNet_Mini_Keeps_The_Relus_After_Residual_Adds()
    {
        var model = OnnxReader.Load(TestData.SharedFile("models/resnet_mini.onnx"));
        var optimized = GraphOptimizer.Optimize(model, fuseActivations: false);
        Assert.Equal(0, Count(optimized, "BatchNormalization"));
        Assert.Equal(Count(model, "Relu"), Count(optimized, "Relu"));
        Assert.DoesNotContain(optimized.Graph.Nodes, n => n.Attributes.ContainsKey("fused_activation"));
        var fused = GraphOptimizer.Optimize(model);
        Assert.Equal(Count(model, "Add"), Count(fused, "Relu"));
    }

    [Fact]
    public void Every_Bn_Folded_Conv_Gets_Its_Own_Weights_And_Unused_Initializers_Go()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 3, 5, 5);
        b.Output(b.Node("Relu", [BatchNorm(b, Conv(b, x, 3, 4, 1, bias: false), 4, 2)]));
        var model = b.Build();
        var optimized = GraphOptimizer.Optimize(model);
        var conv = optimized.Graph.Nodes.Single();
        Assert.All(conv.Inputs.Skip(1), i => Assert.DoesNotContain(i, model.Graph.Initializers.Keys));
        Assert.Equal(2, optimized.Graph.Initializers.Count);
    }
}
