using DSConvService.Core.Execution;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Quantization.Reference;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Quantization.Weights;

/// <summary>
/// VQK + KDS (DESIGN 2.1) of a whole weight in the [O, C, S] layout, parallel over output channels.
/// Each block is quantized by <see cref="VqkReference.QuantizeBlock"/> or, with the mse scale rule,
/// <see cref="VqkReference.QuantizeBlockMse"/> (the spec itself).
/// </summary>
public static class WeightQuantizer
{
    /// <summary>Switch KDS to float16 only when that costs less than this much weight SQNR.</summary>
    private const double MaxFloat16LossDb = 0.05;

    /// <summary>Quantizes a weight seen as [O, C, S] (S taps per filter; the result has kh = S, kw = 1).</summary>
    public static DSConvWeights Quantize(float[] w, int outChannels, int channels, int spatial, bool depthwise, QuantizationOptions options, int threads = 0) =>
        Quantize(w, outChannels, channels, spatial, 1, depthwise, options, threads);

    /// <summary>Quantizes a weight [O, C, kh, kw] (FC layers: kh = kw = 1).</summary>
    public static DSConvWeights Quantize(float[] w, int outChannels, int channels, int kh, int kw, bool depthwise, QuantizationOptions options, int threads = 0)
    {
        var spatial = kh * kw;
        if (w.Length != outChannels * channels * spatial)
        {
            throw new ArgumentException($"Weight has {w.Length} elements, expected {outChannels}x{channels}x{spatial}.");
        }
        if (depthwise && channels != 1)
        {
            throw new ArgumentException("The depthwise block rule needs one input channel per group.");
        }
        var qw = DSConvWeights.Zeros(outChannels, channels, kh, kw, DSConvFormat.Of(options.Format, depthwise));
        if (options.KdsBias)
        {
            qw.KdsBias = new float[qw.Kds.Length];
        }
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        CpuParallel.For(outChannels, threads, (start, end) =>
        {
            var wBuf = new float[depthwise ? spatial : Math.Min(options.BlockSize, channels)];
            var qBuf = new sbyte[wBuf.Length];
            for (var o = start; o < end; o++)
            {
                QuantizeFilter(w, qw, o, options, wBuf, qBuf);
            }
        });
        if (options.KdsFloat16)
        {
            RoundKdsToFloat16(w, qw);
        }
        if (options.Cds)
        {
            FitCds(w, qw);
        }
        return qw;
    }

    /// <summary>
    /// A weight with the storage layout <see cref="Quantize(float[], int, int, int, int, bool, QuantizationOptions, int)"/>
    /// would give (KDS float16 when asked, KDS bias and CDS arrays when asked) but all values zero: for size estimates.
    /// </summary>
    public static DSConvWeights Placeholder(int outChannels, int channels, int kh, int kw, bool depthwise, QuantizationOptions options)
    {
        var qw = DSConvWeights.Zeros(outChannels, channels, kh, kw, DSConvFormat.Of(options.Format, depthwise));
        qw.KdsIsFloat16 = options.KdsFloat16;
        if (options.KdsBias)
        {
            qw.KdsBias = new float[qw.Kds.Length];
        }
        if (options.Cds)
        {
            qw.CdsScale = new float[outChannels];
            qw.CdsBias = new float[outChannels];
        }
        return qw;
    }

    /// <summary>Calls <paramref name="block"/> with the flat weight indices of every block of filter o, and its KDS index.</summary>
    public static void ForEachBlock(DSConvWeights qw, int o, Span<int> indices, BlockVisitor block)
    {
        if (qw.Format.Depthwise)
        {
            for (var s = 0; s < qw.Spatial; s++)
            {
                indices[s] = o * qw.Spatial + s;
            }
            block(indices[..qw.Spatial], o);
            return;
        }
        var nb = qw.Nb;
        for (var j = 0; j < nb; j++)
        {
            var c0 = j * qw.Format.BlockSize;
            var len = Math.Min(qw.Format.BlockSize, qw.Cg - c0);
            for (var s = 0; s < qw.Spatial; s++)
            {
                for (var i = 0; i < len; i++)
                {
                    indices[i] = ((o * qw.Cg) + c0 + i) * qw.Spatial + s;
                }
                block(indices[..len], ((o * nb) + j) * qw.Spatial + s);
            }
        }
    }

    public delegate void BlockVisitor(ReadOnlySpan<int> indices, int kdsIndex);

    private static void QuantizeFilter(float[] w, DSConvWeights qw, int o, QuantizationOptions options, float[] wBuf, sbyte[] qBuf)
    {
        Span<int> idx = stackalloc int[wBuf.Length];
        ForEachBlock(qw, o, idx, (indices, k) =>
        {
            var n = indices.Length;
            var wb = wBuf.AsSpan(0, n);
            var qb = qBuf.AsSpan(0, n);
            for (var i = 0; i < n; i++)
            {
                wb[i] = w[indices[i]];
            }
            if (options.Scale == ScaleRule.Mse)
            {
                VqkReference.QuantizeBlockMse(wb, qw.Format.WeightBits, qb);
            }
            else
            {
                VqkReference.QuantizeBlock(wb, qw.Format.WeightBits, qb);
            }
            for (var i = 0; i < n; i++)
            {
                qw.Q[indices[i]] = qb[i];
            }
            if (qw.KdsBias is not null)
            {
                var (xi, beta) = options.Kds == KdsMethod.Kl
                    ? (KdsSolver.Kl(wb, qb), 0f)
                    : KdsSolver.L2WithBias(wb, qb);
                if (options.Kds == KdsMethod.Kl)
                {
                    beta = KdsSolver.BiasFor(wb, qb, xi);
                }
                qw.Kds[k] = xi;
                qw.KdsBias[k] = beta;
            }
            else
            {
                qw.Kds[k] = options.Kds == KdsMethod.Kl ? KdsSolver.Kl(wb, qb) : KdsSolver.L2(wb, qb);
            }
        });
    }

    // Rounds ξ to float16 (β refitted for the rounded ξ) unless that visibly hurts this layer
    // (scales below float16's normal range lose relative precision); then KDS stays float32.
    private static void RoundKdsToFloat16(float[] w, DSConvWeights qw)
    {
        var before = ErrorEnergy(w, qw.Effective());
        var saved = (float[])qw.Kds.Clone();
        var savedBias = (float[]?)qw.KdsBias?.Clone();
        for (var k = 0; k < qw.Kds.Length; k++)
        {
            qw.Kds[k] = (float)(Half)qw.Kds[k];
        }
        if (qw.KdsBias is not null)
        {
            RefitBias(w, qw);
        }
        var after = ErrorEnergy(w, qw.Effective());
        if (after > before * Math.Pow(10, MaxFloat16LossDb / 10) && after > 0)
        {
            saved.CopyTo(qw.Kds, 0);
            savedBias?.CopyTo(qw.KdsBias!, 0);
            qw.KdsIsFloat16 = false;
            return;
        }
        qw.KdsIsFloat16 = true;
    }

    /// <summary>β of every block refitted as the mean residual for the current ξ.</summary>
    public static void RefitBias(float[] w, DSConvWeights qw)
    {
        var sums = new double[qw.Kds.Length];
        var counts = new int[qw.Kds.Length];
        for (var o = 0; o < qw.O; o++)
        {
            for (var c = 0; c < qw.Cg; c++)
            {
                for (var s = 0; s < qw.Spatial; s++)
                {
                    var i = (o * qw.Cg + c) * qw.Spatial + s;
                    var k = qw.KdsIndex(o, c, s);
                    sums[k] += w[i] - (double)qw.Kds[k] * qw.Q[i];
                    counts[k]++;
                }
            }
        }
        for (var k = 0; k < sums.Length; k++)
        {
            qw.KdsBias![k] = counts[k] == 0 ? 0f : (float)(sums[k] / counts[k]);
        }
    }

    // CDS: per output channel, least squares of w ≈ a·ŵ + c.
    private static void FitCds(float[] w, DSConvWeights qw)
    {
        var wh = qw.Effective();
        var per = qw.Cg * qw.Spatial;
        qw.CdsScale = new float[qw.O];
        qw.CdsBias = new float[qw.O];
        for (var o = 0; o < qw.O; o++)
        {
            double sx = 0, sy = 0, sxx = 0, sxy = 0;
            for (var i = o * per; i < (o + 1) * per; i++)
            {
                sx += wh[i];
                sy += w[i];
                sxx += (double)wh[i] * wh[i];
                sxy += (double)wh[i] * w[i];
            }
            var varX = sxx - sx * sx / per;
            var a = varX > 1e-30 ? (sxy - sx * sy / per) / varX : 1.0;
            qw.CdsScale[o] = (float)a;
            qw.CdsBias[o] = (float)((sy - a * sx) / per);
        }
    }

    public static double ErrorEnergy(float[] w, float[] wHat)
    {
        double e = 0;
        for (var i = 0; i < w.Length; i++)
        {
            var d = (double)w[i] - wHat[i];
            e += d * d;
        }
        return e;
    }
}
