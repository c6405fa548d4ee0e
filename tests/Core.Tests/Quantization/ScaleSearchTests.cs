using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Reference;
using DSConvService.Core.Quantization.Weights;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Quantization;

/// <summary>The mse scale rule (DESIGN 2.1): per block, the clip of w* with the smallest ‖w − ξ·q‖², against a brute-force search.</summary>
public class ScaleSearchTests
{
    // The spec written out plainly: q for clip r, ξ by least squares, the squared error summed in double.
    private static (double Error, sbyte[] Q) Trial(float[] w, int bits, float r)
    {
        var q = new sbyte[w.Length];
        VqkReference.QuantizeBlock(w, bits, r, q);
        var xi = (double)VqkReference.KdsL2(w, q);
        var e = 0.0;
        for (var i = 0; i < w.Length; i++)
        {
            var d = w[i] - xi * q[i];
            e += d * d;
        }
        return (e, q);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 5)]
    [InlineData(4, 32)]
    [InlineData(4, 9)]
    [InlineData(5, 17)]
    [InlineData(8, 64)]
    public void KeepsTheClipWithTheSmallestErrorAndIsNeverWorseThanMax(int bits, int length)
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var w = RandomTensors.Normal(seed * 31 + bits, [length], 0.2f).Floats;
            if (seed % 3 == 0)
            {
                w[seed % length] *= 6; // an outlier, where clipping pays
            }
            var q = new sbyte[length];
            var kept = VqkReference.QuantizeBlockMse(w, bits, q);
            var trials = VqkReference.ClipRatios.Select(r => (r, Trial(w, bits, r))).ToList();
            var best = trials.Min(t => t.Item2.Error);
            var (_, (mseError, mseQ)) = trials.Single(t => t.r == kept);
            Assert.Equal(mseQ, q);
            Assert.True(mseError <= best * (1 + 1e-9) + 1e-18, $"seed {seed}: kept r={kept} error {mseError}, best {best}");
            Assert.True(mseError <= trials[0].Item2.Error * (1 + 1e-9) + 1e-18, $"seed {seed}: worse than the max rule");
        }
    }

    [Fact]
    public void ClipsBlocksWithAnOutlierAndLowersTheirError()
    {
        // 3-bit blocks of 64 with one weight at 5σ: keeping it costs every other weight its resolution.
        var improved = 0;
        for (var seed = 0; seed < 20; seed++)
        {
            var w = RandomTensors.Normal(100 + seed, [64], 0.1f).Floats;
            w[7] = 0.5f;
            var q = new sbyte[64];
            var r = VqkReference.QuantizeBlockMse(w, 3, q);
            improved += r < 1f && Trial(w, 3, r).Error < 0.9 * Trial(w, 3, 1f).Error ? 1 : 0;
        }
        Assert.True(improved >= 15, $"{improved} of 20 blocks clipped with a 10 % lower error");
    }

    [Fact]
    public void RatioOneIsThePapersRule()
    {
        var w = RandomTensors.Normal(9, [40], 0.3f).Floats;
        var a = new sbyte[40];
        var b = new sbyte[40];
        VqkReference.QuantizeBlock(w, 4, a);
        VqkReference.QuantizeBlock(w, 4, 1f, b);
        Assert.Equal(a, b);
        var zeros = new sbyte[3] { 1, 1, 1 };
        Assert.Equal(1f, VqkReference.QuantizeBlockMse(new float[3], 4, zeros));
        Assert.All(zeros, v => Assert.Equal(0, v));
    }

    [Theory]
    [InlineData(4, 32, 40, 9, false)]
    [InlineData(3, 7, 13, 1, false)]
    [InlineData(8, 16, 3, 25, false)]
    [InlineData(4, 32, 1, 9, true)]
    public void WeightQuantizerFollowsTheReferenceBlockByBlock(int bits, int block, int channels, int spatial, bool depthwise)
    {
        const int outChannels = 5;
        var w = RandomTensors.Normal(bits * 7 + block, [outChannels * channels * spatial], 0.1f).Floats;
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = block, KdsFloat16 = false, Scale = ScaleRule.Mse };
        var qw = WeightQuantizer.Quantize(w, outChannels, channels, spatial, depthwise, options);
        var idx = new int[Math.Max(block, spatial)];
        var blocks = 0;
        for (var o = 0; o < outChannels; o++)
        {
            WeightQuantizer.ForEachBlock(qw, o, idx, (indices, k) =>
            {
                var wb = indices.ToArray().Select(i => w[i]).ToArray();
                var q = new sbyte[wb.Length];
                VqkReference.QuantizeBlockMse(wb, bits, q);
                Assert.Equal(q, indices.ToArray().Select(i => qw.Q[i]).ToArray());
                Assert.Equal(VqkReference.KdsL2(wb, q), qw.Kds[k]);
                blocks++;
            });
        }
        Assert.Equal(qw.Kds.Length, blocks);
        var max = WeightQuantizer.Quantize(w, outChannels, channels, spatial, depthwise, options with { Scale = ScaleRule.Max });
        Assert.True(WeightQuantizer.ErrorEnergy(w, qw.Effective()) <= WeightQuantizer.ErrorEnergy(w, max.Effective()));
    }
}
