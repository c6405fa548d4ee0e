using DSConvService.Core.Graph;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

public class DSConvQuantizerTests
{
    [Fact]
    public void RewritesLayersFollowingTheContract()
    {
        var progress = new List<QuantizationProgress>();
        var result = DSConvQuantizer.Quantize(QuantizerTestModels.Mixed(), new QuantizationOptions { WeightBits = 4, BlockSize = 4 },
            null, new SyncProgress(progress.Add));
        var nodes = result.Quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        Assert.Equal(["DSConvConv", "DSConvConv", "DSConvConv", "DSConvGemm", "DSConvGemm"], nodes.Select(n => n.OpType));
        var g = result.Quantized.Graph;
        // Conv 8x6x3x3, block 4 → nb 2; depthwise 8x1x3x3 → [8,1,1,1]; grouped 12x4x1x1 → nb 1; Gemm 10x300 → nb 75; MatMul 7x10 → nb 3.
        int[][] kds = [[8, 2, 3, 3], [8, 1, 1, 1], [12, 1, 1, 1], [10, 75], [7, 3]];
        int[][] q = [[8, 6, 3, 3], [8, 1, 3, 3], [12, 4, 1, 1], [10, 300], [7, 10]];
        for (var i = 0; i < nodes.Count; i++)
        {
            Assert.Equal(q[i], g.Initializers[nodes[i].Inputs[1]].Shape);
            Assert.Equal(DataType.Int4, g.Initializers[nodes[i].Inputs[1]].Type);
            Assert.Equal(kds[i], g.Initializers[nodes[i].Inputs[2]].Shape);
            Assert.Equal(4, nodes[i].GetInt("block_size", 0));
            Assert.Equal(8, nodes[i].GetInt("activation_bits", 0));
        }
        Assert.Equal(1, nodes[1].GetInt("depthwise", 0));
        Assert.Equal(0, nodes[0].GetInt("depthwise", 1));
        Assert.Equal(2, nodes[2].GetInt("group", 0));
        Assert.Contains(result.Notes, n => n.Contains("Depthwise"));
        Assert.Equal(5, result.Layers.Count);
        // MACs = output positions × O × Cg × kh × kw: 100·8·6·9, 25·8·1·9, 25·12·4, 300·10, 70.
        Assert.Equal([43200L, 1800, 1200, 3000, 70], result.Layers.Select(l => l.Macs));
        Assert.All(result.Layers, l => Assert.True(l.WeightSqnrDb > 10, $"{l.Name}: {l.WeightSqnrDb} dB"));
        Assert.Equal(5, progress.Count(p => p.Stage == "quantize" && p.Done < p.Total));
    }

    [Fact]
    public void KeepsLayersWithComputedWeightsAsFloat()
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 1, 2, 5, 5);
        var w = b.Input("w", 3, 2, 3, 3);
        var y = b.Node("Conv", [x, w]);
        var result = DSConvQuantizer.Quantize(b.Output(y).Build(), new QuantizationOptions());
        Assert.Equal(0, result.QuantizedLayers);
        Assert.Single(result.SkippedLayers);
        Assert.Contains("not a constant", result.SkippedLayers[0]);
    }

    [Fact]
    public void CancellationIsCheckedBetweenLayers()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() =>
            DSConvQuantizer.Quantize(QuantizerTestModels.Mixed(), new QuantizationOptions(), null, null, cts.Token));
    }

    [Theory]
    [InlineData(false, false, 8)]
    [InlineData(true, false, 8)]
    [InlineData(true, true, 6)]
    [InlineData(false, true, 0)]
    public void AdaptationDoesNotMakeCalibrationFidelityWorse(bool kdsBias, bool cds, int activationBits)
    {
        var model = QuantizerTestModels.Mixed(3);
        var calib = Enumerable.Range(0, 12).Select(i => RandomTensors.Normal(100 + i, [1, 6, 10, 10])).ToList();
        var options = new QuantizationOptions { WeightBits = 3, BlockSize = 4, KdsBias = kdsBias, Cds = cds, ActivationBits = activationBits };
        var plain = DSConvQuantizer.Quantize(model, options);
        var adapted = DSConvQuantizer.Quantize(model, options with { Adapt = true }, calib);
        double Error(QuantizationResult r)
        {
            using var fp = NetworkRunner.Create(r.FloatModel);
            using var q = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(r.Quantized, true));
            return calib.Sum(c => WeightsError(fp.RunOutput(c).Floats, q.RunOutput(c).Floats));
        }
        Assert.True(Error(adapted) <= Error(plain) * (1 + 1e-6), $"adapted {Error(adapted)} vs data-free {Error(plain)}");
        Assert.Contains(adapted.Notes, n => n.Contains("Adaptation"));
    }

    private static double WeightsError(float[] a, float[] b) => a.Zip(b).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second));

    private sealed class SyncProgress(Action<QuantizationProgress> report) : IProgress<QuantizationProgress>
    {
        public void Report(QuantizationProgress value) => report(value);
    }
}
