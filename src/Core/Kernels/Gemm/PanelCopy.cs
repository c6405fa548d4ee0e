using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>Short copies and fills for packing (runs of a few dozen floats, where a memmove call costs more than the copy).</summary>
public static unsafe class PanelCopy
{
    /// <summary>dst[i] = src[i] for i &lt; n; the last vector overlaps the previous one instead of a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(float* src, float* dst, int n)
    {
        if (n >= 16 && Vector512.IsHardwareAccelerated)
        {
            var i = 0;
            for (; i <= n - 16; i += 16)
            {
                Vector512.Store(Vector512.Load(src + i), dst + i);
            }
            if (i < n)
            {
                Vector512.Store(Vector512.Load(src + n - 16), dst + n - 16);
            }
        }
        else if (n >= 8 && Vector256.IsHardwareAccelerated)
        {
            var i = 0;
            for (; i <= n - 8; i += 8)
            {
                Vector256.Store(Vector256.Load(src + i), dst + i);
            }
            if (i < n)
            {
                Vector256.Store(Vector256.Load(src + n - 8), dst + n - 8);
            }
        }
        else if (n >= 4 && Vector128.IsHardwareAccelerated)
        {
            Vector128.Store(Vector128.Load(src), dst);
            Vector128.Store(Vector128.Load(src + n - 4), dst + n - 4);
        }
        else
        {
            for (var i = 0; i < n; i++)
            {
                dst[i] = src[i];
            }
        }
    }

    /// <summary>dst[i] = 0 for i &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zero(float* dst, int n)
    {
        if (n >= 16 && Vector512.IsHardwareAccelerated)
        {
            var i = 0;
            for (; i <= n - 16; i += 16)
            {
                Vector512.Store(Vector512<float>.Zero, dst + i);
            }
            if (i < n)
            {
                Vector512.Store(Vector512<float>.Zero, dst + n - 16);
            }
        }
        else if (n >= 4 && Vector128.IsHardwareAccelerated)
        {
            var i = 0;
            for (; i <= n - 4; i += 4)
            {
                Vector128.Store(Vector128<float>.Zero, dst + i);
            }
            if (i < n)
            {
                Vector128.Store(Vector128<float>.Zero, dst + n - 4);
            }
        }
        else
        {
            for (var i = 0; i < n; i++)
            {
                dst[i] = 0f;
            }
        }
    }

    /// <summary>
    /// dst[i] = src[2·i] for i &lt; n. Reads src[0 .. 2n−2] only, unless <paramref name="oneMoreReadable"/>
    /// says src[2n−1] may be read too (then the tail is one overlapping vector).
    /// </summary>
    public static void CopyStride2(float* src, float* dst, int n, bool oneMoreReadable)
    {
        var i = 0;
        if (Avx512F.IsSupported)
        {
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            // Each step reads 32 floats, so stop while the last one is still inside the run.
            for (; i <= n - 17; i += 16)
            {
                Avx512F.PermuteVar16x32x2(Vector512.Load(src + 2 * i), even, Vector512.Load(src + 2 * i + 16)).Store(dst + i);
            }
            if (oneMoreReadable && n >= 16 && i < n)
            {
                i = n - 16;
                Avx512F.PermuteVar16x32x2(Vector512.Load(src + 2 * i), even, Vector512.Load(src + 2 * i + 16)).Store(dst + i);
                return;
            }
        }
        for (; i < n; i++)
        {
            dst[i] = src[2 * i];
        }
    }
}
