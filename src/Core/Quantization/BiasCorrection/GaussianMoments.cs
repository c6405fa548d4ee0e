namespace DSConvService.Core.Quantization.BiasCorrection;

/// <summary>Means of a Gaussian N(m, s²) pushed through an activation, for data-free bias correction (DESIGN 2.5).</summary>
public static class GaussianMoments
{
    /// <summary>
    /// E[clamp(x, lo, hi)] for x ~ N(m, s²) (lo/hi may be infinite): with a = (lo − m)/s, b = (hi − m)/s,
    /// lo·Φ(a) + hi·(1 − Φ(b)) + m·(Φ(b) − Φ(a)) + s·(φ(a) − φ(b)). ReLU is lo = 0, hi = ∞, which gives
    /// s·φ(m/s) + m·Φ(m/s).
    /// </summary>
    public static double ClippedMean(double m, double s, double lo, double hi)
    {
        s = Math.Abs(s);
        if (s == 0)
        {
            return Math.Clamp(m, lo, hi);
        }
        var a = (lo - m) / s;
        var b = (hi - m) / s;
        var below = double.IsNegativeInfinity(lo) ? 0 : lo * Cdf(a);
        var above = double.IsPositiveInfinity(hi) ? 0 : hi * (1 - Cdf(b));
        return below + above + m * (Cdf(b) - Cdf(a)) + s * (Pdf(a) - Pdf(b));
    }

    /// <summary>Standard normal density φ (0 at ±∞).</summary>
    public static double Pdf(double z) => double.IsInfinity(z) ? 0 : Math.Exp(-0.5 * z * z) / Math.Sqrt(2 * Math.PI);

    /// <summary>Standard normal distribution function Φ(z) = erfc(−z/√2)/2.</summary>
    public static double Cdf(double z) => double.IsNegativeInfinity(z) ? 0 : double.IsPositiveInfinity(z) ? 1 : 0.5 * Erfc(-z / Math.Sqrt(2));

    /// <summary>
    /// Complementary error function, relative error below 1.2e-7 everywhere (the Chebyshev fit of
    /// Numerical Recipes' erfcc; .NET has no erf).
    /// </summary>
    public static double Erfc(double x)
    {
        var z = Math.Abs(x);
        var t = 1 / (1 + 0.5 * z);
        var poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
        var r = t * Math.Exp(poly);
        return x >= 0 ? r : 2 - r;
    }
}
