using DSConvService.Core.Evaluation;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Quantization.Reference;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

public class BfpSimulationTests
{
    private static Model FakeQuantModel(int[] shape, int groups, int block, int mantissa, int exponentBits)
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", shape);
        var n = new Node(DSConvSimulation.BfpFakeQuant, [x], ["y"], "bfp", DSConvSimulation.Domain);
        n.Attributes["group"] = AttributeValue.Of((long)groups);
        n.Attributes["channels"] = AttributeValue.Of((long)shape[1]);
        n.Attributes["block_size"] = AttributeValue.Of((long)block);
        n.Attributes["mantissa_bits"] = AttributeValue.Of((long)mantissa);
        n.Attributes["exponent_bits"] = AttributeValue.Of((long)exponentBits);
        var model = b.Build();
        model.Graph.Nodes.Add(n);
        model.Graph.Outputs.Add(new ValueInfo("y", DataType.Float, null));
        model.Opsets[DSConvSimulation.Domain] = 1;
        return model;
    }

    // Values that stress the exponent: exact powers of two, zero blocks, tiny and large magnitudes, ties.
    private static Tensor Awkward(int seed, int[] shape)
    {
        var t = RandomTensors.Normal(seed, shape, 3f);
        var d = t.Floats;
        var rng = new Random(seed);
        for (var i = 0; i < d.Length; i++)
        {
            switch (rng.Next(8))
            {
                case 0: d[i] = MathF.ScaleB(rng.Next(2) == 0 ? 1f : -1f, rng.Next(-20, 20)); break;
                case 1: d[i] = 0f; break;
                case 2: d[i] *= 1e-6f; break;
                case 3: d[i] = MathF.ScaleB(rng.Next(-64, 64) + 0.5f, -4); break;
            }
        }
        // One all-zero channel block at the first pixel.
        for (var c = 0; c < Math.Min(shape[1], 4); c++)
        {
            d[c * (d.Length / shape[0] / shape[1])] = 0f;
        }
        return t;
    }

    [Theory]
    [InlineData(new[] { 2, 40, 5, 3 }, 1, 32, 8, 8)]
    [InlineData(new[] { 1, 12, 4, 4 }, 3, 3, 4, 8)]
    [InlineData(new[] { 1, 6, 3, 3 }, 6, 32, 8, 8)]
    [InlineData(new[] { 3, 70 }, 1, 16, 6, 5)]
    [InlineData(new[] { 1, 5, 2, 2 }, 1, 32, 2, 3)]
    public void StandardOnnxExpansionInOrtIsBitExactWithTheReference(int[] shape, int groups, int block, int mantissa, int exponentBits)
    {
        var x = Awkward(shape.Sum(), shape);
        var model = FakeQuantModel(shape, groups, block, mantissa, exponentBits);
        using var runner = NetworkRunner.Create(model, forceOrt: true);
        var ort = runner.RunOutput(x);
        var (h, w) = shape.Length == 4 ? (shape[2], shape[3]) : (1, 1);
        var expected = BfpReference.Simulate(x.Floats, shape[0], shape[1], h, w, groups, block, mantissa, exponentBits);
        Assert.Equal(expected, ort.Floats);
    }

    [Fact]
    public void EngineOperatorMatchesTheReference()
    {
        int[] shape = [2, 20, 3, 3];
        var x = Awkward(1, shape);
        var model = FakeQuantModel(shape, 2, 4, 8, 8);
        using var runner = NetworkRunner.Create(model);
        Assert.True(runner.UsesEngine);
        var expected = BfpReference.Simulate(x.Floats, 2, 20, 3, 3, 2, 4, 8, 8);
        Assert.Equal(expected, runner.RunOutput(x).Floats);
    }
}
