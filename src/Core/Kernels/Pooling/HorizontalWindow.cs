using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Pooling;

/// <summary>The horizontal half of separable pooling, vectorised over the output row.</summary>
internal static class HorizontalWindow
{
    /// <summary>Whether <see cref="ReduceAvx512{TOp}"/> serves this stride on this machine.</summary>
    public static bool HasFastPath(int stride) => Avx512F.IsSupported && stride is 1 or 2;

    /// <summary>
    /// Floats the padded row must hold for <see cref="ReduceAvx512{TOp}"/>: its 16-lane blocks read past the
    /// last tap (stride 2 loads 32 floats and keeps the even ones; a row of fewer than 16 outputs is one block).
    /// </summary>
    public static int Capacity(int paddedLength, int outputs, int kernel, int stride, int dilation) =>
        Math.Max(paddedLength, stride * Math.Max(outputs, 16) + (kernel - 1) * dilation);

    /// <summary>
    /// y[ow] = reduce over kw of padded[ow·stride + kw·dilation], reduce being max or sum (<typeparamref name="TOp"/>).
    /// Uses the AVX-512 path for strides 1 and 2 (padded then needs <see cref="Capacity"/> floats), else gathers.
    /// </summary>
    public static void Reduce<TOp>(ReadOnlySpan<float> padded, Span<float> y, int kernel, int stride, int dilation, Span<float> gather)
        where TOp : IPoolReduction
    {
        if (HasFastPath(stride))
        {
            ReduceAvx512<TOp>(padded, y, kernel, stride, dilation);
        }
        else if (Avx2.IsSupported && stride is 1 or 2 && y.Length >= Lanes256 && padded.Length >= Capacity(0, y.Length, kernel, stride, dilation))
        {
            ReduceAvx2<TOp>(padded, y, kernel, stride, dilation);
        }
        else
        {
            ReduceGather<TOp>(padded, y, kernel, stride, dilation, gather);
        }
    }

    /// <summary>
    /// The formula of <see cref="Reduce{TOp}"/> in 16-output blocks, the window's taps kept in a register;
    /// stride 2 loads 32 consecutive floats per tap and keeps the even lanes (vpermt2ps).
    /// <paramref name="padded"/> holds at least <see cref="Capacity"/> floats; stride is 1 or 2.
    /// </summary>
    public static void ReduceAvx512<TOp>(ReadOnlySpan<float> padded, Span<float> y, int kernel, int stride, int dilation)
        where TOp : IPoolReduction
    {
        var n = y.Length;
        if (n == 0)
        {
            return;
        }
        if (!Avx512F.IsSupported || stride is not (1 or 2) || padded.Length < Capacity(0, n, kernel, stride, dilation))
        {
            throw new ArgumentException("The AVX-512 pooling path needs stride 1 or 2 and a padded row of Capacity floats.");
        }
        const int Lanes = 16;
        ref var p = ref MemoryMarshal.GetReference(padded);
        if (n < Lanes)
        {
            // One block; its head is the row.
            Span<float> block = stackalloc float[Lanes];
            Block<TOp>(ref p, 0, kernel, stride, dilation).CopyTo(block);
            block[..n].CopyTo(y);
            return;
        }
        ref var ys = ref MemoryMarshal.GetReference(y);
        for (var ow = 0; ; ow += Lanes)
        {
            // The last block overlaps the previous one instead of a scalar tail (y is not an input).
            ow = Math.Min(ow, n - Lanes);
            Block<TOp>(ref p, ow, kernel, stride, dilation).StoreUnsafe(ref ys, (nuint)ow);
            if (ow == n - Lanes)
            {
                return;
            }
        }
    }

    /// <summary>Outputs [ow, ow + 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Block<TOp>(ref float p, int ow, int kernel, int stride, int dilation)
        where TOp : IPoolReduction
    {
        var at = (nuint)(ow * stride);
        var acc = Taps(ref p, at, stride);
        for (var kw = 1; kw < kernel; kw++)
        {
            acc = TOp.Apply(acc, Taps(ref p, at + (nuint)(kw * dilation), stride));
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Taps(ref float p, nuint at, int stride) =>
        stride == 1
            ? Vector512.LoadUnsafe(ref p, at)
            : Avx512F.PermuteVar16x32x2(Vector512.LoadUnsafe(ref p, at), Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), Vector512.LoadUnsafe(ref p, at + 16));

    private const int Lanes256 = 8;

    /// <summary>
    /// The AVX2 form of <see cref="ReduceAvx512{TOp}"/> for machines without AVX-512: 8-output blocks, the last one
    /// overlapping the one before; stride 2 keeps the even lanes of 16 loaded floats. At least 8 outputs.
    /// </summary>
    internal static void ReduceAvx2<TOp>(ReadOnlySpan<float> padded, Span<float> y, int kernel, int stride, int dilation)
        where TOp : IPoolReduction
    {
        var n = y.Length;
        ref var p = ref MemoryMarshal.GetReference(padded);
        ref var ys = ref MemoryMarshal.GetReference(y);
        for (var ow = 0; ; ow += Lanes256)
        {
            ow = Math.Min(ow, n - Lanes256);
            var at = (nuint)(ow * stride);
            var acc = Taps256(ref p, at, stride);
            for (var kw = 1; kw < kernel; kw++)
            {
                acc = TOp.Apply(acc, Taps256(ref p, at + (nuint)(kw * dilation), stride));
            }
            acc.StoreUnsafe(ref ys, (nuint)ow);
            if (ow == n - Lanes256)
            {
                return;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Taps256(ref float p, nuint at, int stride) =>
        stride == 1
            ? Vector256.LoadUnsafe(ref p, at)
            : Conv.EvenLanes256.Of(Vector256.LoadUnsafe(ref p, at), Vector256.LoadUnsafe(ref p, at + Lanes256));

    /// <summary>The formula of <see cref="Reduce{TOp}"/> for any stride: each tap's strided values gathered into <paramref name="gather"/> (y.Length floats).</summary>
    public static void ReduceGather<TOp>(ReadOnlySpan<float> padded, Span<float> y, int kernel, int stride, int dilation, Span<float> gather)
        where TOp : IPoolReduction
    {
        var n = y.Length;
        for (var kw = 0; kw < kernel; kw++)
        {
            var src = padded[(kw * dilation)..];
            ReadOnlySpan<float> taps;
            if (stride == 1)
            {
                taps = src[..n];
            }
            else
            {
                for (var ow = 0; ow < n; ow++)
                {
                    gather[ow] = src[ow * stride];
                }
                taps = gather[..n];
            }
            if (kw == 0)
            {
                taps.CopyTo(y);
            }
            else if (typeof(TOp) == typeof(MaxReduction))
            {
                TensorPrimitives.Max(y, taps, y);
            }
            else
            {
                TensorPrimitives.Add(y, taps, y);
            }
        }
    }
}
