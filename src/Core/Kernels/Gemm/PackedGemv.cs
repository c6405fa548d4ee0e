using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// y = alpha · a·B (+ y when accumulating), then the epilogue, for a single row a against a B packed by
/// <see cref="Sgemm.PackB"/>: the classifier of a network at batch 1. The micro-kernel would compute MR rows
/// of which one is real (8x the multiply-adds); here every B panel streams once through one vector row.
/// </summary>
public static unsafe class PackedGemv
{
    /// <summary>Below this many multiply-adds one thread does it all.</summary>
    private const long ParallelMacs = 1 << 17;

    /// <param name="a">The row: a[k·aStride] for k &lt; K.</param>
    public static void Multiply(IGemmMicroKernel kernel, float* a, int aStride, float alpha, float* packedB, int k, int n,
        float* y, bool accumulate, GemmEpilogue epilogue, int threads)
    {
        var nr = kernel.NR;
        var panels = (n + nr - 1) / nr;
        var layout = new PanelLayout(k, nr, kernel.NRStep);
        var (pa, pb, py) = ((nint)a, (nint)packedB, (nint)y);
        var parts = (long)k * n < ParallelMacs ? 1 : threads;
        CpuParallel.For(panels, parts, (p0, p1) =>
        {
            var acc = stackalloc float[nr];
            for (var p = p0; p < p1; p++)
            {
                var col = p * nr;
                var valid = Math.Min(nr, n - col);
                var width = layout.Width(valid);
                Panel((float*)pa, aStride, (float*)pb + (long)col * k, k, width, acc);
                var yp = (float*)py + col;
                for (var j = 0; j < valid; j++)
                {
                    yp[j] = alpha * acc[j] + (accumulate ? yp[j] : 0f);
                }
                epilogue.Apply((float*)py, n, 0, 1, col, col + valid);
            }
        });
    }

    /// <summary>acc[j] = Σ_k a[k·aStride] · b[k·width + j] for j &lt; width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel(float* a, int aStride, float* b, int k, int width, float* acc)
    {
        if (Vector512.IsHardwareAccelerated && width == 48)
        {
            // Two k steps per iteration into separate accumulators: six independent FMA chains.
            Vector512<float> c0 = default, c1 = default, c2 = default, d0 = default, d1 = default, d2 = default;
            var kk = 0;
            for (; kk + 1 < k; kk += 2)
            {
                var x0 = Vector512.Create(a[(long)kk * aStride]);
                var x1 = Vector512.Create(a[(long)(kk + 1) * aStride]);
                var r = b + (long)kk * 48;
                c0 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r), c0);
                c1 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r + 16), c1);
                c2 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r + 32), c2);
                d0 = Vector512.FusedMultiplyAdd(x1, Vector512.Load(r + 48), d0);
                d1 = Vector512.FusedMultiplyAdd(x1, Vector512.Load(r + 64), d1);
                d2 = Vector512.FusedMultiplyAdd(x1, Vector512.Load(r + 80), d2);
            }
            if (kk < k)
            {
                var x0 = Vector512.Create(a[(long)kk * aStride]);
                var r = b + (long)kk * 48;
                c0 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r), c0);
                c1 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r + 16), c1);
                c2 = Vector512.FusedMultiplyAdd(x0, Vector512.Load(r + 32), c2);
            }
            (c0 + d0).Store(acc);
            (c1 + d1).Store(acc + 16);
            (c2 + d2).Store(acc + 32);
            return;
        }
        new Span<float>(acc, width).Clear();
        for (var kk = 0; kk < k; kk++)
        {
            var x = a[(long)kk * aStride];
            var r = b + (long)kk * width;
            var j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var vx = Vector256.Create(x);
                for (; j + 8 <= width; j += 8)
                {
                    Vector256.FusedMultiplyAdd(vx, Vector256.Load(r + j), Vector256.Load(acc + j)).Store(acc + j);
                }
            }
            for (; j < width; j++)
            {
                acc[j] = MathF.FusedMultiplyAdd(x, r[j], acc[j]);
            }
        }
    }
}
