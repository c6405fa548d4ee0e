using DSConvService.Core.Evaluation;
using DSConvService.Core.Numerics;
using DSConvService.Core.Tensors;
using Xunit;

namespace DSConvService.Core.Tests.Evaluation;

public class MetricsTests
{
    [Fact]
    public void SqnrOfAKnownNoise()
    {
        // signal 3²+4² = 25, noise 0.5²·2 = 0.5 → 10·log10(50) dB.
        Assert.Equal(10 * Math.Log10(50), Metrics.SqnrDb([3f, 4f], [3.5f, 3.5f]), 9);
        Assert.Equal(double.PositiveInfinity, Metrics.SqnrDb([1f, 2f], [1f, 2f]));
    }

    [Fact]
    public void CosineOfKnownVectors()
    {
        Assert.Equal(0, Metrics.Cosine([1f, 0f], [0f, 2f]), 12);
        Assert.Equal(1, Metrics.Cosine([1f, 2f], [2f, 4f]), 12);
        Assert.Equal(1 / Math.Sqrt(2), Metrics.Cosine([1f, 0f], [1f, 1f]), 12);
        Assert.Equal(-1, Metrics.Cosine([1f, -1f], [-3f, 3f]), 12);
    }

    [Fact]
    public void KlOfKnownDistributions()
    {
        // softmax([0, ln 3]) = [1/4, 3/4]; softmax([0, 0]) = [1/2, 1/2].
        var expected = 0.25 * Math.Log(0.5) + 0.75 * Math.Log(1.5);
        Assert.Equal(expected, Metrics.KlDivergence([0f, MathF.Log(3f)], [0f, 0f]), 6);
        Assert.Equal(0, Metrics.KlDivergence([1f, 2f, 3f], [11f, 12f, 13f]), 9);
    }

    [Fact]
    public void TopKCountsTiesAgainstTheLabel()
    {
        float[] v = [0.1f, 0.5f, 0.5f, 0.2f, 0.9f];
        Assert.Equal(4, Metrics.ArgMax(v));
        Assert.True(Metrics.InTopK(v, 4, 1));
        Assert.False(Metrics.InTopK(v, 1, 1));
        Assert.True(Metrics.InTopK(v, 1, 2));
        Assert.False(Metrics.InTopK(v, 2, 2));
        Assert.True(Metrics.InTopK(v, 2, 3));
        Assert.False(Metrics.InTopK(v, 7, 5));
    }

    [Fact]
    public void AccuracyAndFidelityOfHandMadeOutputs()
    {
        var fp32 = new[] { T(0, 1, 5, 2, 3, 4), T(9, 1, 0, 0, 0, 0) };
        var quant = new[] { T(0, 1, 5, 2, 3, 4), T(0, 9, 0, 0, 0, 0) };
        var acc = OutputComparison.Accuracy(fp32, quant, [2, 1]);
        Assert.Equal(0.5, acc.Fp32Top1);
        Assert.Equal(1.0, acc.QuantizedTop1);
        Assert.Equal(-0.5, acc.Top1Drop);
        Assert.Equal(1.0, acc.Fp32Top5);
        var fid = OutputComparison.Fidelity(fp32, quant);
        Assert.Equal(2, fid.Samples);
        Assert.Equal(0.5, fid.Top1Agreement);
        var cos2 = Metrics.Cosine([9, 1, 0, 0, 0, 0], [0, 9, 0, 0, 0, 0]);
        Assert.Equal((1 + cos2) / 2, fid.Cosine, 12);
        // signal 0+1+25+4+9+16 + 81+1 = 137, noise 81 + 64 = 145.
        Assert.Equal(10 * Math.Log10(137.0 / 145.0), fid.OutputSqnrDb, 9);
    }

    private static Tensor T(params float[] v) => Tensor.FromFloats([1, v.Length], v);
}
