using DSConvService.Core.Execution.Preparation;
using DSConvService.Core.Graph;
using DSConvService.Core.Passes;
using DSConvService.Core.Tests.Models;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Passes;

public class ActivationFusionTests
{
    [Fact]
    public void Conv_Relu_Fuses()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 3, 6, 6);
        var r = b.Node("Relu", [Conv(b, x, 3, 4, 1)]);
        b.Output(r);
        var model = b.Build();
        var fused = ModelCloner.Clone(model);
        Assert.Equal(1, ActivationFusion.Run(fused));
        var conv = fused.Graph.Nodes.Single();
        Assert.Equal("Relu", conv.GetString("fused_activation", ""));
        Assert.Equal(r, conv.Outputs[0]);
        Parity.AssertClose(Parity.Compare(model, fused, Input(2, 1, 3, 6, 6)), 1e-5);
    }

    [Theory]
    [InlineData(13)]
    [InlineData(6)]
    public void Conv_Clip_Fuses_With_Constant_Bounds_In_Either_Opset_Form(long opset)
    {
        var b = new ModelBuilder(opset);
        var x = b.Input("x", 1, 2, 5, 5);
        var conv = Conv(b, x, 2, 3, 3);
        var clip = opset >= 11
            ? b.Node("Clip", [conv, b.Initializer(Core.Tensors.Tensor.Scalar(-0.2f)), b.Initializer(Core.Tensors.Tensor.Scalar(0.3f))])
            : b.Node("Clip", [conv], new { min = -0.2f, max = 0.3f });
        b.Output(clip);
        var model = b.Build();
        var fused = ModelCloner.Clone(model);
        Assert.Equal(1, ActivationFusion.Run(fused));
        var node = fused.Graph.Nodes.Single();
        Assert.Equal("Clip", node.GetString("fused_activation", ""));
        Assert.Equal(-0.2f, node.GetFloat("fused_min", 0));
        Assert.Equal(0.3f, node.GetFloat("fused_max", 0));
        Parity.AssertClose(Parity.Compare(model, fused, Input(4, 1, 2, 5, 5)), 1e-5);
    }

    [Fact]
    public void Gemm_LeakyRelu_Fuses()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 2, 6);
        var gemm = b.Node("Gemm", [x, Weights(b, 5, 4, 6), Weights(b, 6, 4)], new { transB = 1L });
        b.Output(b.Node("LeakyRelu", [gemm], new { alpha = 0.2f }));
        var model = b.Build();
        var fused = GraphOptimizer.Optimize(model);
        var node = fused.Graph.Nodes.Single();
        Assert.Equal("LeakyRelu", node.GetString("fused_activation", ""));
        Assert.Equal(0.2f, node.GetFloat("fused_alpha", 0));
        Parity.AssertClose(Parity.Compare(model, fused, Input(7, 2, 6)), 1e-5);
    }

    [Fact]
    public void Conv_Output_Read_Twice_Or_Clip_With_Computed_Bounds_Is_Not_Fused()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 2, 4, 4);
        var lo = b.Input("lo", []);
        var conv = Conv(b, x, 2, 2, 8);
        b.Output(b.Node("Add", [b.Node("Relu", [conv]), conv]));
        b.Output(b.Node("Clip", [Conv(b, x, 2, 2, 9), lo]));
        var model = b.Build();
        Assert.Equal(0, ActivationFusion.Run(model));
        Assert.DoesNotContain(model.Graph.Nodes, n => n.Attributes.ContainsKey("fused_activation"));
    }

    [Fact]
    public void Optimize_Without_Fusion_Leaves_Activations_Alone()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 3, 6, 6);
        b.Output(b.Node("Relu", [BatchNorm(b, Conv(b, x, 3, 4, 1), 4, 2)]));
        var optimized = GraphOptimizer.Optimize(b.Build(), fuseActivations: false);
        Assert.Equal(["Conv", "Relu"], optimized.Graph.Nodes.Select(n => n.OpType));
    }
}
