using System.Runtime.Intrinsics;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>Direct depthwise convolution (one input channel per filter), one output plane per call.</summary>
public static unsafe class DepthwiseConv
{
    /// <summary>
    /// y[oy, ox] = act(bias + Σ_{ky,kx} w[ky·KW + kx] · x[oy·sh − padT + ky·dh, ox·sw − padL + kx·dw]), zero outside x.
    /// <paramref name="x"/> is one input plane (g.Height × g.Width), <paramref name="y"/> one output plane.
    /// </summary>
    public static void Plane(float* x, float* w, float bias, float* y, in ConvGeometry g, FusedActivation act)
    {
        var ow = g.OutWidth;
        for (var oy = 0; oy < g.OutHeight; oy++)
        {
            var yr = y + (long)oy * ow;
            new Span<float>(yr, ow).Fill(bias);
            for (var ky = 0; ky < g.KernelH; ky++)
            {
                var iy = oy * g.StrideH - g.PadTop + ky * g.DilationH;
                if ((uint)iy >= (uint)g.Height)
                {
                    continue;
                }
                var xr = x + (long)iy * g.Width;
                for (var kx = 0; kx < g.KernelW; kx++)
                {
                    var wv = w[ky * g.KernelW + kx];
                    var off = kx * g.DilationW - g.PadLeft;
                    // Valid ox: 0 <= ox·sw + off < Width.
                    var lo = off >= 0 ? 0 : (-off + g.StrideW - 1) / g.StrideW;
                    var hi = g.Width - off <= 0 ? 0 : Math.Min(ow, (g.Width - off - 1) / g.StrideW + 1);
                    if (lo >= hi)
                    {
                        continue;
                    }
                    if (g.StrideW == 1)
                    {
                        MultiplyAdd(xr + lo + off, wv, yr + lo, hi - lo);
                    }
                    else
                    {
                        for (var ox = lo; ox < hi; ox++)
                        {
                            yr[ox] += wv * xr[ox * g.StrideW + off];
                        }
                    }
                }
            }
            if (act.Kind != ActivationKind.None)
            {
                EpilogueRow.Apply(yr, ow, 0f, null, act);
            }
        }
    }

    /// <summary>y[i] += w · x[i].</summary>
    private static void MultiplyAdd(float* x, float w, float* y, int n)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vw = Vector512.Create(w);
            for (; i <= n - 16; i += 16)
            {
                Vector512.FusedMultiplyAdd(Vector512.Load(x + i), vw, Vector512.Load(y + i)).Store(y + i);
            }
        }
        for (; i < n; i++)
        {
            y[i] = MathF.FusedMultiplyAdd(x[i], w, y[i]);
        }
    }
}
