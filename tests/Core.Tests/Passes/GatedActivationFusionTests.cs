using DSConvService.Core.Execution.Preparation;
using System.Runtime.Intrinsics;
using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Passes;
using DSConvService.Core.Tests.Models;
using DSConvService.TestSupport;
using Xunit;
using static DSConvService.Core.Tests.Passes.PassTestModels;

namespace DSConvService.Core.Tests.Passes;

/// <summary>
/// Sigmoid, SiLU (x·Sigmoid x), HardSigmoid and HardSwish fused into the epilogue of every float Conv path
/// (GEMM with im2col, pointwise, the few-channel stem, depthwise) and of Gemm, against ONNX Runtime.
/// </summary>
public class GatedActivationFusionTests
{
    /// <summary>Conv shapes that take different kernels: input [N,C,H,W], O filters, k×k, stride, group, dilation.</summary>
    public sealed record Shape(string Name, int N, int C, int H, int W, int O, int K, int Stride = 1, int Group = 1, int Dilation = 1)
    {
        public override string ToString() => Name;
    }

    private static readonly Shape[] Shapes =
    [
        new("pointwise odd channels", 1, 17, 9, 11, 23, 1),
        new("pointwise stride 2 batch 3", 3, 16, 9, 9, 19, 1, Stride: 2),
        new("3x3 dilation 2 batch 2", 2, 5, 12, 13, 7, 3, Dilation: 2),
        new("stem 3 channels stride 2", 1, 3, 17, 19, 16, 3, Stride: 2),
        new("depthwise stride 2 batch 2", 2, 9, 13, 11, 9, 3, Stride: 2, Group: 9),
        new("depthwise 5x5", 1, 6, 10, 9, 6, 5, Group: 6),
        new("groups 3", 1, 12, 8, 7, 15, 3, Group: 3),
    ];

    private static readonly string[] Gates = ["Sigmoid", "Silu", "SiluSwapped", "HardSigmoid", "HardSwish", "HardSigmoidGate"];

    public static TheoryData<string, Shape> Cases()
    {
        var data = new TheoryData<string, Shape>();
        foreach (var gate in Gates)
        {
            foreach (var s in Shapes)
            {
                data.Add(gate, s);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv_Gate_Fuses_And_Matches_OnnxRuntime(string gate, Shape s)
    {
        var b = new ModelBuilder(opset: 14); // HardSwish is opset 14
        var x = b.Input("x", s.N, s.C, s.H, s.W);
        var pad = s.K / 2 * s.Dilation;
        var conv = b.Node("Conv", [x, Weights(b, 3, s.O, s.C / s.Group, s.K, s.K), Weights(b, 4, s.O)], new
        {
            kernel_shape = new long[] { s.K, s.K },
            pads = new long[] { pad, pad, pad, pad },
            strides = new long[] { s.Stride, s.Stride },
            dilations = new long[] { s.Dilation, s.Dilation },
            group = (long)s.Group,
        });
        b.Output(Gate(b, gate, conv));
        var onnx = b.ToBytes();
        var optimized = GraphOptimizer.Optimize(b.Build());
        var node = Assert.Single(optimized.Graph.Nodes);
        Assert.Equal(Expected(gate), node.GetString("fused_activation", ""));
        // Inputs in [−4, 4] so that the gates see both their saturated and their linear ranges.
        var input = RandomTensors.Uniform(5, [s.N, s.C, s.H, s.W], -4f, 4f);
        Parity.AssertClose(Parity.Compare(onnx, input), 1e-5);
    }

    [Theory]
    [InlineData("Silu")]
    [InlineData("HardSwish")]
    [InlineData("Sigmoid")]
    public void Gemm_Gate_Fuses_And_Matches_OnnxRuntime(string gate)
    {
        var b = new ModelBuilder(opset: 14);
        var x = b.Input("x", 3, 37);
        var gemm = b.Node("Gemm", [x, Weights(b, 5, 21, 37), Weights(b, 6, 21)], new { transB = 1L });
        b.Output(Gate(b, gate, gemm));
        var onnx = b.ToBytes();
        Assert.Single(GraphOptimizer.Optimize(b.Build()).Graph.Nodes);
        Parity.AssertClose(Parity.Compare(onnx, RandomTensors.Uniform(7, [3, 37], -3f, 3f)), 1e-5);
    }

    [Fact]
    public void Gate_Is_Not_Fused_When_The_Conv_Output_Has_Another_Reader()
    {
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 3, 6, 6);
        var conv = Conv(b, x, 3, 4, 1);
        var silu = b.Node("Mul", [conv, b.Node("Sigmoid", [conv])]);
        b.Output(b.Node("Add", [silu, conv]));
        var model = b.Build();
        Assert.Equal(0, GatedActivationFusion.Run(model));
        Assert.Equal(["Conv", "Sigmoid", "Mul", "Add"], model.Graph.Nodes.Select(n => n.OpType));
    }

    [Fact]
    public void Gate_Of_Another_Value_Is_Not_A_Self_Gate()
    {
        // Squeeze-and-excitation: x · Sigmoid(s) with s ≠ x stays a Mul (the Sigmoid may fuse into s's Conv).
        var b = new ModelBuilder();
        var x = b.Input("x", 1, 4, 5, 5);
        var conv = Conv(b, x, 4, 4, 1);
        var s = Conv(b, b.Node("GlobalAveragePool", [conv]), 4, 4, 3, k: 1);
        b.Output(b.Node("Mul", [conv, b.Node("Sigmoid", [s])]));
        var model = b.Build();
        var onnx = b.ToBytes();
        var optimized = GraphOptimizer.Optimize(model);
        Assert.Equal(["Conv", "GlobalAveragePool", "Conv", "Mul"], optimized.Graph.Nodes.Select(n => n.OpType));
        Assert.Equal("Sigmoid", optimized.Graph.Nodes[2].GetString("fused_activation", ""));
        Parity.AssertClose(Parity.Compare(onnx, RandomTensors.Uniform(8, [1, 4, 5, 5], -3f, 3f)), 1e-5);
    }

    [Theory]
    [InlineData(ActivationKind.Sigmoid)]
    [InlineData(ActivationKind.Silu)]
    [InlineData(ActivationKind.HardSigmoid)]
    [InlineData(ActivationKind.HardSwish)]
    public void Vector_Forms_Follow_The_Scalar_Definition(ActivationKind kind)
    {
        var act = new FusedActivation(kind, Alpha: 0.2f, Beta: 0.45f);
        float[] values = [-200f, -88.5f, -20f, -6f, -2.25f, -1f, -0.5f, -1e-3f, 0f, 1e-3f, 0.5f, 1f, 2.5f, 3f, 5.5f, 20f, 90f, 300f];
        var v512 = new float[16];
        var v256 = new float[8];
        for (var start = 0; start < values.Length; start += 8)
        {
            var chunk = values.AsSpan(start, Math.Min(8, values.Length - start));
            var lanes = new float[16];
            chunk.CopyTo(lanes);
            ActivationVectors.Apply(Vector512.Create(lanes), act).CopyTo(v512);
            ActivationVectors.Apply(Vector256.Create(lanes.AsSpan(0, 8)), act).CopyTo(v256);
            for (var i = 0; i < chunk.Length; i++)
            {
                var expected = act.Apply(chunk[i]);
                var tol = 2e-6f * Math.Max(1f, Math.Abs(expected));
                Assert.True(Math.Abs(v512[i] - expected) <= tol, $"{kind}({chunk[i]}): 512-bit {v512[i]} vs {expected}");
                Assert.True(Math.Abs(v256[i] - expected) <= tol, $"{kind}({chunk[i]}): 256-bit {v256[i]} vs {expected}");
            }
        }
    }

    [Fact]
    public void Vector_Exp_Is_Within_Two_Ulp_Of_MathF_Exp()
    {
        var worst = 0.0;
        for (var x = -87f; x <= 88f; x += 0.0137f)
        {
            var lanes = Vector512.Create(x) + Vector512.Create(0f, 1e-3f, 2e-3f, 3e-3f, 4e-3f, 5e-3f, 6e-3f, 7e-3f, 8e-3f, 9e-3f, 1e-2f, 1.1e-2f, 1.2e-2f, 1.3e-2f, -1e-3f, -2e-3f);
            var e512 = VectorExp.Exp(lanes);
            var e256 = VectorExp.Exp(lanes.GetLower());
            for (var i = 0; i < 16; i++)
            {
                var expected = (double)MathF.Exp(lanes[i]);
                var ulp = Math.Abs(MathF.BitIncrement((float)expected) - (float)expected);
                worst = Math.Max(worst, Math.Abs(e512[i] - expected) / ulp);
                if (i < 8)
                {
                    worst = Math.Max(worst, Math.Abs(e256[i] - expected) / ulp);
                }
            }
        }
        Assert.True(worst <= 2.0, $"worst error {worst} ulp");
        Assert.Equal(1f, VectorExp.Exp(Vector512<float>.Zero)[0]);
    }

    private static string Expected(string gate) => gate switch
    {
        "SiluSwapped" => "Silu",
        "HardSigmoidGate" => "HardSwish",
        _ => gate,
    };

    /// <summary>The gate as ONNX nodes on y.</summary>
    private static string Gate(ModelBuilder b, string gate, string y) => gate switch
    {
        "Sigmoid" => b.Node("Sigmoid", [y]),
        "Silu" => b.Node("Mul", [y, b.Node("Sigmoid", [y])]),
        "SiluSwapped" => b.Node("Mul", [b.Node("Sigmoid", [y]), y]),
        "HardSigmoid" => b.Node("HardSigmoid", [y], new { alpha = 0.25f, beta = 0.4f }),
        "HardSwish" => b.Node("HardSwish", [y]),
        "HardSigmoidGate" => b.Node("Mul", [y, b.Node("HardSigmoid", [y], new { alpha = 1f / 6f, beta = 0.5f })]),
        _ => throw new ArgumentException(gate),
    };
}
