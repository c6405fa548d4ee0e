using System.Numerics;

namespace DSConvService.Core.Quantization.Adaptation;

/// <summary>Ridge least squares min ‖F·u − r‖² + Σ λ_i (u_i − u0_i)², λ_i = ridge·(FᵀF)_ii, by Cholesky.</summary>
internal static class ChannelSolver
{
    /// <summary>Accumulates the upper triangle of FᵀF and Fᵀr from rows of F (row-major [rows, n]).</summary>
    public static void Accumulate(ReadOnlySpan<double> f, ReadOnlySpan<double> r, int rows, int n, Span<double> gram, Span<double> rhs)
    {
        for (var p = 0; p < rows; p++)
        {
            var row = f.Slice(p * n, n);
            for (var i = 0; i < n; i++)
            {
                var fi = row[i];
                if (fi == 0)
                {
                    continue;
                }
                rhs[i] += fi * r[p];
                var dst = gram.Slice(i * n + i, n - i);
                var src = row[i..];
                var j = 0;
                if (Vector.IsHardwareAccelerated)
                {
                    var vf = new Vector<double>(fi);
                    for (; j <= src.Length - Vector<double>.Count; j += Vector<double>.Count)
                    {
                        var acc = new Vector<double>(dst[j..]) + vf * new Vector<double>(src[j..]);
                        acc.CopyTo(dst[j..]);
                    }
                }
                for (; j < src.Length; j++)
                {
                    dst[j] += fi * src[j];
                }
            }
        }
    }

    /// <summary>Solves in place; returns false (u untouched) when the system is not positive definite.</summary>
    public static bool Solve(Span<double> gram, Span<double> rhs, int n, ReadOnlySpan<double> u0, double ridge, Span<double> u)
    {
        double trace = 0;
        for (var i = 0; i < n; i++)
        {
            trace += gram[i * n + i];
        }
        if (trace <= 0)
        {
            return false;
        }
        var floor = 1e-9 * trace / n;
        for (var i = 0; i < n; i++)
        {
            var lambda = ridge * gram[i * n + i] + floor;
            gram[i * n + i] += lambda;
            rhs[i] += lambda * u0[i];
        }
        // Cholesky on the upper triangle: A = Uᵀ U.
        for (var i = 0; i < n; i++)
        {
            var d = gram[i * n + i];
            for (var k = 0; k < i; k++)
            {
                d -= gram[k * n + i] * gram[k * n + i];
            }
            if (d <= 0 || !double.IsFinite(d))
            {
                return false;
            }
            d = Math.Sqrt(d);
            gram[i * n + i] = d;
            for (var j = i + 1; j < n; j++)
            {
                var s = gram[i * n + j];
                for (var k = 0; k < i; k++)
                {
                    s -= gram[k * n + i] * gram[k * n + j];
                }
                gram[i * n + j] = s / d;
            }
        }
        Span<double> y = n <= 512 ? stackalloc double[n] : new double[n];
        for (var i = 0; i < n; i++)
        {
            var s = rhs[i];
            for (var k = 0; k < i; k++)
            {
                s -= gram[k * n + i] * y[k];
            }
            y[i] = s / gram[i * n + i];
        }
        for (var i = n - 1; i >= 0; i--)
        {
            var s = y[i];
            for (var k = i + 1; k < n; k++)
            {
                s -= gram[i * n + k] * u[k];
            }
            u[i] = s / gram[i * n + i];
        }
        return true;
    }
}
