namespace DSConvService.Core.Kernels.Elementwise;

public static class ErfKernel
{
    /// <summary>y = erf(x), each value computed in double.</summary>
    public static void Erf(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            y[i] = (float)Erf(x[i]);
        }
    }

    /// <summary>erf in double precision (absolute error below 1e-12), by Taylor series near 0 and a continued fraction for erfc further out.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }
        var a = Math.Abs(x);
        double r;
        if (a < 2.5)
        {
            // erf(x) = 2/sqrt(pi) · Σ (-1)^n x^(2n+1) / (n! (2n+1))
            double term = a, sum = a, x2 = a * a;
            for (var n = 1; n < 60; n++)
            {
                term *= -x2 / n;
                var add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum))
                {
                    break;
                }
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else if (a < 6)
        {
            // erfc(x) = exp(-x²)/sqrt(pi) · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated bottom-up.
            var f = 0.0;
            for (var k = 60; k >= 1; k--)
            {
                f = k / 2.0 / (a + f);
            }
            r = 1 - Math.Exp(-a * a) / Math.Sqrt(Math.PI) / (a + f);
        }
        else
        {
            r = 1;
        }
        return x < 0 ? -r : r;
    }
}
