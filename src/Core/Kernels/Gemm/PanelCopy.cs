using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
}
