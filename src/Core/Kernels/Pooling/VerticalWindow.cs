using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.Pooling;

/// <summary>The vertical half of separable pooling: the window's rows reduced into one row, one pass.</summary>
internal static class VerticalWindow
{
    /// <summary>
    /// y[c] = reduce over r in [0, rows) of x[r·rowStride + c], for c in [0, y.Length); rows ≥ 1.
    /// </summary>
    public static void Reduce<TOp>(ReadOnlySpan<float> x, int rowStride, int rows, Span<float> y)
        where TOp : IPoolReduction
    {
        var n = y.Length;
        if (rows < 1 || (long)(rows - 1) * rowStride + n > x.Length)
        {
            throw new ArgumentException("The rows do not fit in x.", nameof(x));
        }
        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var ys = ref MemoryMarshal.GetReference(y);
        var c = 0;
        if (!Vector512.IsHardwareAccelerated && Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            // AVX2 (no AVX-512): the same in 8-float blocks.
            for (; ; c += Vector256<float>.Count)
            {
                c = Math.Min(c, n - Vector256<float>.Count);
                var acc = Vector256.LoadUnsafe(ref xs, (nuint)c);
                for (var r = 1; r < rows; r++)
                {
                    acc = TOp.Apply(acc, Vector256.LoadUnsafe(ref xs, (nuint)(r * rowStride + c)));
                }
                acc.StoreUnsafe(ref ys, (nuint)c);
                if (c == n - Vector256<float>.Count)
                {
                    return;
                }
            }
        }
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            // The last block overlaps the previous one instead of a scalar tail (y is not an input).
            for (; ; c += Vector512<float>.Count)
            {
                c = Math.Min(c, n - Vector512<float>.Count);
                var acc = Vector512.LoadUnsafe(ref xs, (nuint)c);
                for (var r = 1; r < rows; r++)
                {
                    acc = TOp.Apply(acc, Vector512.LoadUnsafe(ref xs, (nuint)(r * rowStride + c)));
                }
                acc.StoreUnsafe(ref ys, (nuint)c);
                if (c == n - Vector512<float>.Count)
                {
                    return;
                }
            }
        }
        for (; c < n; c++)
        {
            var acc = Unsafe.Add(ref xs, c);
            for (var r = 1; r < rows; r++)
            {
                acc = TOp.Apply(acc, Unsafe.Add(ref xs, r * rowStride + c));
            }
            Unsafe.Add(ref ys, c) = acc;
        }
    }
}
