using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>Short copies and fills for packing (runs of a few dozen floats, where a memmove call costs more than the copy).</summary>
public static unsafe class PanelCopy
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(float* src, float* dst, int n)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                Vector512.Store(Vector512.Load(src + i), dst + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - 8; i += 8)
            {
                Vector256.Store(Vector256.Load(src + i), dst + i);
            }
        }
        for (; i < n; i++)
        {
            dst[i] = src[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Zero(float* dst, int n)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
            {
                Vector512.Store(Vector512<float>.Zero, dst + i);
            }
        }
        for (; i < n; i++)
        {
            dst[i] = 0f;
        }
    }

    /// <summary>dst[i] = src[2·i] for i &lt; n (reads src[0 .. 2n−2] only).</summary>
    public static void CopyStride2(float* src, float* dst, int n)
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
        }
        for (; i < n; i++)
        {
            dst[i] = src[2 * i];
        }
    }
}
