using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// The AVX2 register tile of <see cref="FewChannelConv"/> for machines without AVX-512: 4 output channels × 16
/// consecutive output pixels of one row (8 ymm accumulators; 8 channels × 16 would need all 16 registers for
/// accumulators alone). For j &lt; <c>channels</c> (≤ 4), i &lt; <c>count</c> (≤ 16):
/// y[j·plane + i] = act(bias[j] + Σ_t w[t·8 + j] · x[offsets[t] + i]), w pointing at the block's channel
/// 0 or 4 (the packed weights keep 8 channels per tap).
/// </summary>
internal static unsafe class FewChannelConvKernel256
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile4x16(float* x, int* offsets, int taps, float* w, float* bias, float* y, long plane, int channels, int count, in FusedActivation act)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        for (var t = 0; t < taps; t++)
        {
            var xt = x + offsets[t];
            var x0 = Vector256.Load(xt);
            var x1 = Vector256.Load(xt + 8);
            var w0 = Vector256.Create(w[0]);
            c00 = Fma.MultiplyAdd(x0, w0, c00);
            c01 = Fma.MultiplyAdd(x1, w0, c01);
            var w1 = Vector256.Create(w[1]);
            c10 = Fma.MultiplyAdd(x0, w1, c10);
            c11 = Fma.MultiplyAdd(x1, w1, c11);
            var w2 = Vector256.Create(w[2]);
            c20 = Fma.MultiplyAdd(x0, w2, c20);
            c21 = Fma.MultiplyAdd(x1, w2, c21);
            var w3 = Vector256.Create(w[3]);
            c30 = Fma.MultiplyAdd(x0, w3, c30);
            c31 = Fma.MultiplyAdd(x1, w3, c31);
            w += 8;
        }
        var mask0 = Mask(count);
        var mask1 = Mask(count - 8);
        Row(y, c00, c01, bias[0], act, count, mask0, mask1);
        if (channels > 1)
        {
            Row(y + plane, c10, c11, bias[1], act, count, mask0, mask1);
        }
        if (channels > 2)
        {
            Row(y + 2 * plane, c20, c21, bias[2], act, count, mask0, mask1);
        }
        if (channels > 3)
        {
            Row(y + 3 * plane, c30, c31, bias[3], act, count, mask0, mask1);
        }
    }

    /// <summary>Lanes [0, count) of one vector (all of them when count ≥ 8, none when count ≤ 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Mask(int count) =>
        Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* y, Vector256<float> v0, Vector256<float> v1, float bias, in FusedActivation act, int count,
        Vector256<float> mask0, Vector256<float> mask1)
    {
        var b = Vector256.Create(bias);
        v0 = ActivationVectors.Apply(v0 + b, act);
        v1 = ActivationVectors.Apply(v1 + b, act);
        if (count >= 16)
        {
            v0.Store(y);
            v1.Store(y + 8);
            return;
        }
        Avx.MaskStore(y, mask0, v0);
        Avx.MaskStore(y + 8, mask1, v1);
    }
}
