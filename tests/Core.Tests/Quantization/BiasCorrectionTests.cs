using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.BiasCorrection;
using DSConvService.Core.Tensors;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

/// <summary>Data-free bias correction from BatchNorm statistics (DESIGN 2.5) against plain numerical references.</summary>
public class BiasCorrectionTests
{
    // E[clamp(x, lo, hi)], x ~ N(m, s²), by Simpson's rule over m ± 12 s.
    private static double NumericClippedMean(double m, double s, double lo, double hi)
    {
        const int n = 40000;
        double a = m - 12 * s, b = m + 12 * s, h = (b - a) / n, sum = 0;
        for (var i = 0; i <= n; i++)
        {
            var x = a + i * h;
            var f = Math.Clamp(x, lo, hi) * Math.Exp(-0.5 * ((x - m) / s) * ((x - m) / s)) / (s * Math.Sqrt(2 * Math.PI));
            sum += f * (i == 0 || i == n ? 1 : i % 2 == 1 ? 4 : 2);
        }
        return sum * h / 3;
    }

    [Theory]
    [InlineData(0.0, 1.0, 0.0, double.PositiveInfinity)]
    [InlineData(0.7, 0.3, 0.0, double.PositiveInfinity)]
    [InlineData(-1.2, 0.5, 0.0, double.PositiveInfinity)]
    [InlineData(-4.0, 0.4, 0.0, double.PositiveInfinity)]
    [InlineData(2.5, 3.0, 0.0, 6.0)]
    [InlineData(0.1, 0.8, -1.0, 1.0)]
    [InlineData(5.5, 1.0, 0.0, 6.0)]
    public void ClippedGaussianMeanMatchesIntegration(double m, double s, double lo, double hi)
    {
        var expected = NumericClippedMean(m, s, lo, hi);
        Assert.Equal(expected, GaussianMoments.ClippedMean(m, s, lo, hi), 6);
        if (double.IsPositiveInfinity(hi) && lo == 0)
        {
            // The ReLU form of the issue: γφ(β/γ) + βΦ(β/γ).
            Assert.Equal(s * GaussianMoments.Pdf(m / s) + m * GaussianMoments.Cdf(m / s), expected, 6);
        }
    }

    [Fact]
    public void ZeroSpreadIsTheClampedMean()
    {
        Assert.Equal(0.0, GaussianMoments.ClippedMean(-2, 0, 0, double.PositiveInfinity));
        Assert.Equal(1.5, GaussianMoments.ClippedMean(1.5, 0, 0, 6));
    }

    [Fact]
    public void ExpectedErrorIsTheConvolutionOfTheWeightErrorWithTheMeanInput()
    {
        const int o = 6, c = 8, groups = 2, k = 3;
        var cg = c / groups;
        var w = RandomTensors.Normal(1, [o * cg * k * k], 0.3f).Floats;
        var wHat = w.Select((v, i) => v + 0.05f * MathF.Sin(i)).ToArray();
        var mean = Enumerable.Range(0, c).Select(i => 0.2 + 0.3 * i).ToArray();
        var error = DataFreeBiasCorrection.ExpectedError(w, wHat, mean, o, cg, k * k, groups);

        // Reference: Conv(Ŵ − W) over an input that holds E[x] everywhere, read at an interior pixel.
        var b = new ModelBuilder(13);
        var x = b.Input("x", 1, c, 5, 5);
        var diff = b.Floats([o, cg, k, k], wHat.Zip(w, (p, q) => p - q).ToArray());
        b.Output(b.Node("Conv", [x, diff], new { group = (long)groups }));
        var input = new float[c * 25];
        for (var ch = 0; ch < c; ch++)
        {
            Array.Fill(input, (float)mean[ch], ch * 25, 25);
        }
        var y = new InferenceSession(b.Build()).Run(Tensor.FromFloats([1, c, 5, 5], input))[0].Floats;
        for (var oc = 0; oc < o; oc++)
        {
            Assert.Equal(y[oc * 9 + 4], error[oc], 4);
        }
    }

    // x → Conv A (bias) → BN → Relu → grouped Conv B (bias) → BN → Conv C (1x1, no bias).
    private static Model BatchNormModel()
    {
        var b = new ModelBuilder(13);
        var x = b.Input("x", 1, 8, 7, 7);
        string Bn(string v, int ch, int seed)
        {
            var gamma = RandomTensors.Uniform(seed, [ch], 0.5f, 1.5f);
            var beta = RandomTensors.Normal(seed + 1, [ch], 0.8f);
            var mu = RandomTensors.Normal(seed + 2, [ch], 0.2f);
            var variance = RandomTensors.Uniform(seed + 3, [ch], 0.5f, 2f);
            return b.Node("BatchNormalization", [v, b.Initializer(gamma), b.Initializer(beta), b.Initializer(mu), b.Initializer(variance)]);
        }
        var y = b.Node("Conv", [x, b.Initializer(RandomTensors.Normal(1, [16, 8, 3, 3], 0.3f)), b.Initializer(RandomTensors.Normal(2, [16], 0.1f))],
            new { pads = new long[] { 1, 1, 1, 1 } });
        y = b.Node("Relu", [Bn(y, 16, 10)]);
        y = b.Node("Conv", [y, b.Initializer(RandomTensors.Normal(3, [12, 8, 3, 3], 0.3f)), b.Initializer(RandomTensors.Normal(4, [12], 0.1f))],
            new { group = 2L });
        y = Bn(y, 12, 20);
        y = b.Node("Conv", [y, b.Initializer(RandomTensors.Normal(5, [10, 12, 1, 1], 0.3f))]);
        return b.Output(y).Build();
    }

    [Fact]
    public void LayersFedByBatchNormGetTheirExpectedErrorRemoved()
    {
        var fp32 = BatchNormModel();
        var bn = fp32.Graph.Nodes.Where(n => n.OpType == "BatchNormalization").ToList();
        float[] Param(Node n, int i) => fp32.Graph.Initializers[n.Inputs[i]].Floats;
        var result = DSConvQuantizer.Quantize(fp32, new QuantizationOptions { WeightBits = 3, BlockSize = 4, BiasCorrection = true });
        var plain = DSConvQuantizer.Quantize(fp32, new QuantizationOptions { WeightBits = 3, BlockSize = 4, BiasCorrection = false });
        Assert.Equal(2, result.BiasCorrectedLayers);
        Assert.Equal([false, true, true], result.Layers.Select(l => l.BiasCorrected));
        Assert.Equal(0, plain.BiasCorrectedLayers);
        Assert.Contains(result.Notes, n => n.Contains("2 of 3 layers"));

        // E[x] of B's input: ReLU of N(β, γ²) of the first BN; of C's input: β of the second BN.
        var meanB = Param(bn[0], 2).Zip(Param(bn[0], 1), (beta, gamma) => NumericClippedMean(beta, Math.Abs(gamma), 0, double.PositiveInfinity)).ToArray();
        var meanC = Param(bn[1], 2).Select(v => (double)v).ToArray();
        var nodes = result.Quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        var plainNodes = plain.Quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv).ToList();
        var floatConvs = result.FloatModel.Graph.Nodes.Where(n => n.OpType == "Conv").ToList();
        float[] Bias(Model m, Node n) => n.Input(DSConvNodes.InputBias) is { } name ? m.Graph.Initializers[name].Floats : [];

        Assert.Equal(Bias(plain.Quantized, plainNodes[0]), Bias(result.Quantized, nodes[0]));
        foreach (var (layer, mean, groups) in new[] { (1, meanB, 2), (2, meanC, 1) })
        {
            var w = result.FloatModel.Graph.Initializers[floatConvs[layer].Inputs[1]];
            var wHat = DSConvNodes.ReadWeight(result.Quantized, nodes[layer]).Effective();
            var o = w.Shape[0];
            var cg = w.Shape[1];
            var spatial = w.Shape[2] * w.Shape[3];
            var fp32Bias = floatConvs[layer].Input(2) is { } bName ? result.FloatModel.Graph.Initializers[bName].Floats : new float[o];
            var corrected = Bias(result.Quantized, nodes[layer]);
            Assert.Equal(o, corrected.Length);
            for (var oc = 0; oc < o; oc++)
            {
                var g = oc / (o / groups);
                double shift = 0;
                for (var c = 0; c < cg; c++)
                {
                    for (var s = 0; s < spatial; s++)
                    {
                        var i = (oc * cg + c) * spatial + s;
                        shift += (wHat[i] - w.Floats[i]) * mean[g * cg + c];
                    }
                }
                Assert.Equal(fp32Bias[oc] - shift, corrected[oc], 4);
            }
        }
        // Without the option: the folded biases unchanged, and C (no bias) gets none.
        Assert.Null(plainNodes[2].Input(DSConvNodes.InputBias));
        Assert.Equal(result.FloatModel.Graph.Initializers[floatConvs[1].Inputs[2]].Floats, Bias(plain.Quantized, plainNodes[1]));
    }

    [Fact]
    public void CorrectionLowersTheMeanOutputErrorOnBatchNormShapedInputs()
    {
        // Inputs of layer C drawn from the distribution the second BN promises (N(β, γ²) per channel):
        // the mean error of C's output over many pixels shrinks with the correction.
        var fp32 = BatchNormModel();
        var bn = fp32.Graph.Nodes.Where(n => n.OpType == "BatchNormalization").ToList()[1];
        var gamma = fp32.Graph.Initializers[bn.Inputs[1]].Floats;
        var beta = fp32.Graph.Initializers[bn.Inputs[2]].Floats;
        double MeanAbsError(bool correct)
        {
            var r = DSConvQuantizer.Quantize(fp32, new QuantizationOptions { WeightBits = 2, BlockSize = 4, ActivationBits = 0, BiasCorrection = correct });
            var node = r.Quantized.Graph.Nodes.Where(DSConvNodes.IsDSConv).Last();
            var wHat = DSConvNodes.ReadWeight(r.Quantized, node).Effective();
            var w = r.FloatModel.Graph.Initializers[r.FloatModel.Graph.Nodes.Last(n => n.OpType == "Conv").Inputs[1]].Floats;
            var bias = node.Input(DSConvNodes.InputBias) is { } name ? r.Quantized.Graph.Initializers[name].Floats : new float[10];
            var z = RandomTensors.Normal(77, [4000, 12]).Floats;
            var err = new double[10];
            for (var p = 0; p < 4000; p++)
            {
                for (var oc = 0; oc < 10; oc++)
                {
                    double d = bias[oc];
                    for (var c = 0; c < 12; c++)
                    {
                        var xv = beta[c] + Math.Abs(gamma[c]) * z[p * 12 + c];
                        d += (wHat[oc * 12 + c] - w[oc * 12 + c]) * xv;
                    }
                    err[oc] += d / 4000;
                }
            }
            return err.Average(Math.Abs);
        }
        var without = MeanAbsError(false);
        var with = MeanAbsError(true);
        Assert.True(with < 0.25 * without, $"mean output error {with} with correction, {without} without");
    }
}
