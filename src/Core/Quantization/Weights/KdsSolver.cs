namespace DSConvService.Core.Quantization.Weights;

/// <summary>The scale (and optional bias) of one block, given its weights w and integers q.</summary>
public static class KdsSolver
{
    /// <summary>Least squares ξ = Σ w·q / Σ q·q (0 when every q is 0).</summary>
    public static float L2(ReadOnlySpan<float> w, ReadOnlySpan<sbyte> q)
    {
        double num = 0, den = 0;
        for (var i = 0; i < w.Length; i++)
        {
            num += (double)w[i] * q[i];
            den += (double)q[i] * q[i];
        }
        return den == 0 ? 0f : (float)(num / den);
    }

    /// <summary>Joint least squares of w ≈ ξ·q + β. With q constant over the block, ξ is the l2 scale and β the mean residual.</summary>
    public static (float Xi, float Beta) L2WithBias(ReadOnlySpan<float> w, ReadOnlySpan<sbyte> q)
    {
        var n = w.Length;
        double sw = 0, sq = 0, sqq = 0, swq = 0;
        for (var i = 0; i < n; i++)
        {
            sw += w[i];
            sq += q[i];
            sqq += (double)q[i] * q[i];
            swq += (double)w[i] * q[i];
        }
        var varQ = sqq - sq * sq / n;
        if (varQ <= 1e-9)
        {
            var xi = L2(w, q);
            return (xi, (float)((sw - xi * sq) / n));
        }
        var slope = (swq - sw * sq / n) / varQ;
        return ((float)slope, (float)((sw - slope * sq) / n));
    }

    /// <summary>β = mean(w − ξ·q) for a fixed ξ.</summary>
    public static float BiasFor(ReadOnlySpan<float> w, ReadOnlySpan<sbyte> q, float xi)
    {
        double s = 0;
        for (var i = 0; i < w.Length; i++)
        {
            s += w[i] - (double)xi * q[i];
        }
        return (float)(s / w.Length);
    }

    /// <summary>
    /// ξ minimising KL(softmax(w) ‖ softmax(ξ·q)). The objective is convex in ξ with derivative
    /// E_softmax(ξq)[q] − E_softmax(w)[q], which increases with ξ: bracket its root, then bisect.
    /// Falls back to the l2 scale when the minimum is not finite (all q equal, or w's mass sits on the extreme q).
    /// </summary>
    public static float Kl(ReadOnlySpan<float> w, ReadOnlySpan<sbyte> q)
    {
        var start = L2(w, q);
        if (w.Length < 2)
        {
            return start;
        }
        var target = ExpectedQ(w, q, 1f, useWeights: true);
        var step = Math.Max(Math.Abs((double)start), 1e-8);
        double lo = start, hi = start;
        var g0 = Grad(w, q, start, target);
        if (g0 == 0)
        {
            return start;
        }
        var found = false;
        for (var k = 0; k < 60; k++)
        {
            if (g0 > 0)
            {
                lo = hi - step;
                if (Grad(w, q, lo, target) <= 0)
                {
                    found = true;
                    break;
                }
                hi = lo;
            }
            else
            {
                hi = lo + step;
                if (Grad(w, q, hi, target) >= 0)
                {
                    found = true;
                    break;
                }
                lo = hi;
            }
            step *= 2;
        }
        if (!found)
        {
            return start;
        }
        for (var k = 0; k < 50 && hi - lo > 1e-7 * Math.Max(Math.Abs(lo), Math.Abs(hi)); k++)
        {
            var mid = 0.5 * (lo + hi);
            if (Grad(w, q, mid, target) > 0)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }
        return (float)(0.5 * (lo + hi));
    }

    private static double Grad(ReadOnlySpan<float> w, ReadOnlySpan<sbyte> q, double xi, double target) =>
        ExpectedQ(w, q, (float)xi, useWeights: false) - target;

    // E_p[q] with p = softmax(w) (useWeights) or softmax(ξ·q).
    private static double ExpectedQ(ReadOnlySpan<float> w, ReadOnlySpan<sbyte> q, float xi, bool useWeights)
    {
        var max = double.NegativeInfinity;
        for (var i = 0; i < q.Length; i++)
        {
            max = Math.Max(max, useWeights ? w[i] : (double)xi * q[i]);
        }
        double z = 0, s = 0;
        for (var i = 0; i < q.Length; i++)
        {
            var e = Math.Exp((useWeights ? w[i] : (double)xi * q[i]) - max);
            z += e;
            s += e * q[i];
        }
        return s / z;
    }
}
