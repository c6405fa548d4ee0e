using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Reference;
using DSConvService.Core.Quantization.Weights;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

public class WeightQuantizerTests
{
    // The block of weight (o, j, s) gathered by hand: channels j·B .. min((j+1)·B, C) at tap s.
    private static int[] BlockIndices(int o, int j, int s, int c, int spatial, int b) =>
        Enumerable.Range(j * b, Math.Min(b, c - j * b)).Select(ch => ((o * c) + ch) * spatial + s).ToArray();

    [Theory]
    [InlineData(2, 1, 5, 9)]
    [InlineData(3, 3, 7, 1)]
    [InlineData(4, 32, 40, 9)]
    [InlineData(5, 8, 16, 4)]
    [InlineData(8, 32, 3, 49)]
    [InlineData(4, 256, 300, 1)]
    public void MatchesTheScalarReferenceBlockByBlock(int bits, int block, int channels, int spatial)
    {
        const int outChannels = 6;
        var w = RandomTensors.Normal(bits * 100 + block, [outChannels * channels * spatial], 0.1f).Floats;
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = block, KdsFloat16 = false, Scale = ScaleRule.Max };
        var qw = WeightQuantizer.Quantize(w, outChannels, channels, spatial, depthwise: false, options);
        var nb = (channels + block - 1) / block;
        Assert.Equal(outChannels * nb * spatial, qw.Kds.Length);
        for (var o = 0; o < outChannels; o++)
        {
            for (var j = 0; j < nb; j++)
            {
                for (var s = 0; s < spatial; s++)
                {
                    var idx = BlockIndices(o, j, s, channels, spatial, block);
                    var wb = idx.Select(i => w[i]).ToArray();
                    var q = new sbyte[wb.Length];
                    VqkReference.QuantizeBlock(wb, bits, q);
                    Assert.Equal(q, idx.Select(i => qw.Q[i]).ToArray());
                    Assert.Equal(VqkReference.KdsL2(wb, q), qw.Kds[((o * nb) + j) * spatial + s]);
                }
            }
        }
        Assert.All(qw.Q, v => Assert.InRange(v, -(1 << (bits - 1)), (1 << (bits - 1)) - 1));
    }

    [Fact]
    public void DepthwiseBlockIsTheTapsOfOneFilter()
    {
        var w = RandomTensors.Normal(7, [8 * 9], 0.2f).Floats;
        var qw = WeightQuantizer.Quantize(w, 8, 1, 9, depthwise: true, new QuantizationOptions { WeightBits = 4, KdsFloat16 = false, Scale = ScaleRule.Max });
        Assert.Equal(8, qw.Kds.Length);
        for (var o = 0; o < 8; o++)
        {
            var wb = w.AsSpan(o * 9, 9).ToArray();
            var q = new sbyte[9];
            VqkReference.QuantizeBlock(wb, 4, q);
            Assert.Equal(q, qw.Q.AsSpan(o * 9, 9).ToArray());
            Assert.Equal(VqkReference.KdsL2(wb, q), qw.Kds[o]);
        }
    }

    [Fact]
    public void KdsBiasAndCdsNeverIncreaseTheWeightError()
    {
        var w = RandomTensors.Uniform(3, [16 * 20 * 9], 0f, 0.3f).Floats;
        double Error(QuantizationOptions o) =>
            WeightQuantizer.ErrorEnergy(w, WeightQuantizer.Quantize(w, 16, 20, 9, false, o with { KdsFloat16 = false }).Effective());
        var plain = Error(new QuantizationOptions { WeightBits = 3, BlockSize = 8 });
        var withBias = Error(new QuantizationOptions { WeightBits = 3, BlockSize = 8, KdsBias = true });
        var withCds = Error(new QuantizationOptions { WeightBits = 3, BlockSize = 8, Cds = true });
        Assert.True(withBias < plain, $"KDS bias {withBias} vs plain {plain}");
        Assert.True(withCds <= plain * (1 + 1e-9), $"CDS {withCds} vs plain {plain}");
    }

    [Fact]
    public void KlScaleMinimisesTheSoftmaxDivergence()
    {
        var w = RandomTensors.Normal(11, [24], 0.5f).Floats;
        var q = new sbyte[24];
        VqkReference.QuantizeBlock(w, 3, q);
        var xi = KdsSolver.Kl(w, q);
        double Kl(double x) => DSConvService.Core.Numerics.Metrics.KlDivergence(w, q.Select(v => (float)(x * v)).ToArray());
        var best = Kl(xi);
        Assert.True(best <= Kl(KdsSolver.L2(w, q)) + 1e-12);
        Assert.True(best <= Kl(xi * 1.01) + 1e-12 && best <= Kl(xi * 0.99) + 1e-12, $"KL at ξ={xi} is not a minimum");
    }

    [Fact]
    public void Float16KdsIsExactlyRepresentableAndCloseToFloat32()
    {
        var w = RandomTensors.Normal(5, [32 * 64 * 9], 0.05f).Floats;
        var f32 = WeightQuantizer.Quantize(w, 32, 64, 9, false, new QuantizationOptions { KdsFloat16 = false });
        var f16 = WeightQuantizer.Quantize(w, 32, 64, 9, false, new QuantizationOptions { KdsFloat16 = true });
        Assert.True(f16.KdsIsFloat16);
        Assert.All(f16.Kds, v => Assert.Equal(v, (float)(Half)v));
        Assert.Equal(f32.Q, f16.Q);
        var e32 = WeightQuantizer.ErrorEnergy(w, f32.Effective());
        var e16 = WeightQuantizer.ErrorEnergy(w, f16.Effective());
        Assert.True(e16 < e32 * 1.02, $"float16 error {e16} vs float32 {e32}");
    }

    [Fact]
    public void TinyScalesStayFloat32()
    {
        var w = RandomTensors.Normal(5, [4 * 32], 1e-7f).Floats;
        var qw = WeightQuantizer.Quantize(w, 4, 32, 1, false, new QuantizationOptions { KdsFloat16 = true });
        Assert.False(qw.KdsIsFloat16);
    }
}
