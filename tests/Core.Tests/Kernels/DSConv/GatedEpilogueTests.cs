using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Hardware;
using DSConvService.Core.Passes;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// Sigmoid, SiLU (x·σ(x)), HardSigmoid, HardSwish and x·HardSigmoid(x) after DSConv layers are fused into their
/// epilogues at load (the artifact keeps the ONNX nodes) and give the numbers of the unfused graph and of the
/// ORT-simulated network: integer pixel- and channel-vector layers, a 5×5 depthwise layer, odd channel counts,
/// stride 2, batch 2, a fully connected layer.
/// </summary>
public class GatedEpilogueTests
{
    private const double Tolerance = 1e-5;

    [Theory]
    [InlineData(1, 12)]
    [InlineData(2, 11)]
    public void Fused_Gates_Match_The_Unfused_Graph_And_The_Simulation(int batch, int size)
    {
        var quantized = Quantized(size);
        var x = RandomTensors.Normal(5, [batch, 7, size, size]);
        var plain = new InferenceSession(quantized, new SessionOptions { Optimize = false, Threads = 2 }).Run(x)[0];
        var session = new InferenceSession(quantized, new SessionOptions { Optimize = true, Threads = 2 });
        var fused = session.Run(x)[0];
        using var sim = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(quantized, true));
        var simulated = sim.RunOutput(x);

        var nodes = session.Model.Graph.Nodes;
        Assert.DoesNotContain(nodes, n => n.OpType is "Sigmoid" or "HardSigmoid" or "HardSwish" or "Mul");
        var kinds = nodes.Where(DSConvNodes.IsDSConv).Select(n => n.GetString(ActivationFusion.ActivationAttribute, "")).ToList();
        Assert.Equal(["Silu", "HardSwish", "HardSwish", "Sigmoid", "HardSigmoid", "Sigmoid"], kinds);
        // The artifact itself stays standard ONNX: the gates are still nodes there.
        Assert.Contains(quantized.Graph.Nodes, n => n.OpType == "Mul");
        Assert.DoesNotContain(quantized.Graph.Nodes, n => n.Attributes.ContainsKey(ActivationFusion.ActivationAttribute));

        Assert.Equal(plain.Shape, fused.Shape);
        var unfusedDiff = RandomTensors.RelativeDiff(fused, plain);
        Assert.True(unfusedDiff <= Tolerance, $"fused vs unfused: relative difference {unfusedDiff}");
        var simDiff = RandomTensors.RelativeDiff(fused, simulated);
        Assert.True(simDiff <= Tolerance, $"fused vs simulation: relative difference {simDiff}");
        Assert.Contains(fused.Floats, v => v > 0.01f && v < 0.99f);
    }

    public static TheoryData<string> Levels()
    {
        var data = new TheoryData<string> { "scalar" };
        if (CpuCapabilities.Hardware.Avx2Fma)
        {
            data.Add("avx2");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Fused_Gates_Under_Forced_Capabilities_Match_The_Simulation(string level)
    {
        var quantized = Quantized(9);
        var x = RandomTensors.Normal(8, [2, 7, 9, 9]);
        using var sim = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(quantized, true));
        var simulated = sim.RunOutput(x);
        InferenceSession session;
        using (CpuCapabilities.Force(CpuCapabilities.Hardware.Capped(level)))
        {
            session = new InferenceSession(quantized, new SessionOptions { Optimize = true, Threads = 2 });
        }
        Assert.DoesNotContain(session.Model.Graph.Nodes, n => n.OpType is "Sigmoid" or "Mul");
        var diff = RandomTensors.RelativeDiff(session.Run(x)[0], simulated);
        Assert.True(diff <= Tolerance, $"{level}: relative difference {diff}");
    }

    private static Model Quantized(int size)
    {
        var options = new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 8 };
        return DSConvQuantizer.Quantize(GatedModel(size), options).Quantized;
    }

    /// <summary>
    /// Conv 3×3 (37 out) → x·σ(x) → depthwise 5×5 stride 2 → x·HardSigmoid(x) → 1×1 (40) → HardSwish →
    /// 1×1 (33) → Sigmoid → 3×3 stride 2 (36) → HardSigmoid → GlobalAveragePool → Flatten → Gemm (10) → Sigmoid.
    /// </summary>
    private static Model GatedModel(int size)
    {
        var b = new ModelBuilder(14);
        var x = b.Input("x", 1, 7, size, size);
        var y = Conv(b, x, 1, 7, 37, 3, 1, 1);
        y = b.Node("Mul", [y, b.Node("Sigmoid", [y])]);
        y = Conv(b, y, 2, 1, 37, 5, 2, 37);
        y = b.Node("Mul", [b.Node("HardSigmoid", [y], new { alpha = 0.25f, beta = 0.4f }), y]);
        y = b.Node("HardSwish", [Conv(b, y, 3, 37, 40, 1, 1, 1)]);
        y = b.Node("Sigmoid", [Conv(b, y, 4, 40, 33, 1, 1, 1)]);
        y = b.Node("HardSigmoid", [Conv(b, y, 5, 33, 36, 3, 2, 1)]);
        y = b.Node("Flatten", [b.Node("GlobalAveragePool", [y])], new { axis = 1L });
        var w = b.Initializer(RandomTensors.Normal(60, [10, 36], 0.4f));
        var c = b.Initializer(RandomTensors.Normal(61, [10], 0.1f));
        y = b.Node("Sigmoid", [b.Node("Gemm", [y, w, c], new { transB = 1L })]);
        return b.Output(y).Build();
    }

    private static string Conv(ModelBuilder b, string x, int seed, int cg, int o, int k, int stride, int groups)
    {
        var w = b.Initializer(RandomTensors.Normal(seed * 10, [o, cg, k, k], 0.6f / MathF.Sqrt(cg * k * k)));
        var bias = b.Initializer(RandomTensors.Normal(seed * 10 + 1, [o], 0.2f));
        return b.Node("Conv", [x, w, bias], new
        {
            group = (long)groups, strides = new long[] { stride, stride },
            pads = new long[] { k / 2, k / 2, k / 2, k / 2 }, kernel_shape = new long[] { k, k },
        });
    }
}
