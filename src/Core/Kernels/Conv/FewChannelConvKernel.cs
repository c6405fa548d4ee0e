using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// Register tiles of <see cref="FewChannelConv"/> (AVX-512F): 8 output channels × two runs of 16 pixels (<see cref="Tile32"/>:
/// 32 consecutive pixels of a row, or two rows of up to 16) or one run (<see cref="Tile16"/>), 16 or 8 zmm accumulators.
/// For j &lt; <c>channels</c>, i &lt; <c>count</c>: y[j·plane + i] = act(bias[j] + Σ_t w[t·8 + j] · x[offsets[t] + i]).
/// Each tap reads 16 contiguous floats of the phase-split input per run and 8 weights; every accumulator is a local so
/// the JIT keeps it in a register (hand-unrolled on purpose).
/// </summary>
internal static unsafe class FewChannelConvKernel
{
    /// <summary>32 consecutive pixels of one row: <paramref name="count"/> of them stored.</summary>
    public static void Tile32(float* x, int* offsets, int taps, float* w, float* bias, float* y, long plane, int channels, int count, in FusedActivation act) =>
        Tile2x16(x, 16, offsets, taps, w, bias, y, 16, plane, channels, Math.Min(count, 16), count - 16, act);

    /// <summary>
    /// Two runs of 16 pixels: the second reads the input <paramref name="secondX"/> floats after the first and is stored
    /// <paramref name="secondY"/> floats after it (16 and 16 for one row of 32; a row's input and output strides for two
    /// rows of narrow maps); <paramref name="count0"/> and <paramref name="count1"/> of their pixels are stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile2x16(float* x, int secondX, int* offsets, int taps, float* w, float* bias, float* y, long secondY, long plane, int channels,
        int count0, int count1, in FusedActivation act)
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        c00 = Vector512<float>.Zero;
        c01 = Vector512<float>.Zero;
        c10 = Vector512<float>.Zero;
        c11 = Vector512<float>.Zero;
        c20 = Vector512<float>.Zero;
        c21 = Vector512<float>.Zero;
        c30 = Vector512<float>.Zero;
        c31 = Vector512<float>.Zero;
        c40 = Vector512<float>.Zero;
        c41 = Vector512<float>.Zero;
        c50 = Vector512<float>.Zero;
        c51 = Vector512<float>.Zero;
        c60 = Vector512<float>.Zero;
        c61 = Vector512<float>.Zero;
        c70 = Vector512<float>.Zero;
        c71 = Vector512<float>.Zero;
        for (var t = 0; t < taps; t++)
        {
            var xt = x + offsets[t];
            var x0 = Vector512.Load(xt + 0);
            var x1 = Vector512.Load(xt + secondX);
            var w0 = Vector512.Create(w[0]);
            c00 = Avx512F.FusedMultiplyAdd(x0, w0, c00);
            c01 = Avx512F.FusedMultiplyAdd(x1, w0, c01);
            var w1 = Vector512.Create(w[1]);
            c10 = Avx512F.FusedMultiplyAdd(x0, w1, c10);
            c11 = Avx512F.FusedMultiplyAdd(x1, w1, c11);
            var w2 = Vector512.Create(w[2]);
            c20 = Avx512F.FusedMultiplyAdd(x0, w2, c20);
            c21 = Avx512F.FusedMultiplyAdd(x1, w2, c21);
            var w3 = Vector512.Create(w[3]);
            c30 = Avx512F.FusedMultiplyAdd(x0, w3, c30);
            c31 = Avx512F.FusedMultiplyAdd(x1, w3, c31);
            var w4 = Vector512.Create(w[4]);
            c40 = Avx512F.FusedMultiplyAdd(x0, w4, c40);
            c41 = Avx512F.FusedMultiplyAdd(x1, w4, c41);
            var w5 = Vector512.Create(w[5]);
            c50 = Avx512F.FusedMultiplyAdd(x0, w5, c50);
            c51 = Avx512F.FusedMultiplyAdd(x1, w5, c51);
            var w6 = Vector512.Create(w[6]);
            c60 = Avx512F.FusedMultiplyAdd(x0, w6, c60);
            c61 = Avx512F.FusedMultiplyAdd(x1, w6, c61);
            var w7 = Vector512.Create(w[7]);
            c70 = Avx512F.FusedMultiplyAdd(x0, w7, c70);
            c71 = Avx512F.FusedMultiplyAdd(x1, w7, c71);
            w += 8;
        }
        var mask0 = Mask(count0);
        var mask1 = Mask(count1);
        Store(y + 0 * plane + 0, c00, bias[0], act, mask0);
        Store(y + 0 * plane + secondY, c01, bias[0], act, mask1);
        if (channels <= 1)
        {
            return;
        }
        Store(y + 1 * plane + 0, c10, bias[1], act, mask0);
        Store(y + 1 * plane + secondY, c11, bias[1], act, mask1);
        if (channels <= 2)
        {
            return;
        }
        Store(y + 2 * plane + 0, c20, bias[2], act, mask0);
        Store(y + 2 * plane + secondY, c21, bias[2], act, mask1);
        if (channels <= 3)
        {
            return;
        }
        Store(y + 3 * plane + 0, c30, bias[3], act, mask0);
        Store(y + 3 * plane + secondY, c31, bias[3], act, mask1);
        if (channels <= 4)
        {
            return;
        }
        Store(y + 4 * plane + 0, c40, bias[4], act, mask0);
        Store(y + 4 * plane + secondY, c41, bias[4], act, mask1);
        if (channels <= 5)
        {
            return;
        }
        Store(y + 5 * plane + 0, c50, bias[5], act, mask0);
        Store(y + 5 * plane + secondY, c51, bias[5], act, mask1);
        if (channels <= 6)
        {
            return;
        }
        Store(y + 6 * plane + 0, c60, bias[6], act, mask0);
        Store(y + 6 * plane + secondY, c61, bias[6], act, mask1);
        if (channels <= 7)
        {
            return;
        }
        Store(y + 7 * plane + 0, c70, bias[7], act, mask0);
        Store(y + 7 * plane + secondY, c71, bias[7], act, mask1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile16(float* x, int* offsets, int taps, float* w, float* bias, float* y, long plane, int channels, int count, in FusedActivation act)
    {
        Vector512<float> c00, c10, c20, c30, c40, c50, c60, c70;
        c00 = Vector512<float>.Zero;
        c10 = Vector512<float>.Zero;
        c20 = Vector512<float>.Zero;
        c30 = Vector512<float>.Zero;
        c40 = Vector512<float>.Zero;
        c50 = Vector512<float>.Zero;
        c60 = Vector512<float>.Zero;
        c70 = Vector512<float>.Zero;
        for (var t = 0; t < taps; t++)
        {
            var xt = x + offsets[t];
            var x0 = Vector512.Load(xt + 0);
            var w0 = Vector512.Create(w[0]);
            c00 = Avx512F.FusedMultiplyAdd(x0, w0, c00);
            var w1 = Vector512.Create(w[1]);
            c10 = Avx512F.FusedMultiplyAdd(x0, w1, c10);
            var w2 = Vector512.Create(w[2]);
            c20 = Avx512F.FusedMultiplyAdd(x0, w2, c20);
            var w3 = Vector512.Create(w[3]);
            c30 = Avx512F.FusedMultiplyAdd(x0, w3, c30);
            var w4 = Vector512.Create(w[4]);
            c40 = Avx512F.FusedMultiplyAdd(x0, w4, c40);
            var w5 = Vector512.Create(w[5]);
            c50 = Avx512F.FusedMultiplyAdd(x0, w5, c50);
            var w6 = Vector512.Create(w[6]);
            c60 = Avx512F.FusedMultiplyAdd(x0, w6, c60);
            var w7 = Vector512.Create(w[7]);
            c70 = Avx512F.FusedMultiplyAdd(x0, w7, c70);
            w += 8;
        }
        var mask0 = Mask(count);
        Store(y + 0 * plane + 0, c00, bias[0], act, mask0);
        if (channels <= 1)
        {
            return;
        }
        Store(y + 1 * plane + 0, c10, bias[1], act, mask0);
        if (channels <= 2)
        {
            return;
        }
        Store(y + 2 * plane + 0, c20, bias[2], act, mask0);
        if (channels <= 3)
        {
            return;
        }
        Store(y + 3 * plane + 0, c30, bias[3], act, mask0);
        if (channels <= 4)
        {
            return;
        }
        Store(y + 4 * plane + 0, c40, bias[4], act, mask0);
        if (channels <= 5)
        {
            return;
        }
        Store(y + 5 * plane + 0, c50, bias[5], act, mask0);
        if (channels <= 6)
        {
            return;
        }
        Store(y + 6 * plane + 0, c60, bias[6], act, mask0);
        if (channels <= 7)
        {
            return;
        }
        Store(y + 7 * plane + 0, c70, bias[7], act, mask0);
    }

    /// <summary>Lanes [0, count) of one vector (all of them when count ≥ 16, none when count ≤ 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Mask(int count) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, Vector512<float> v, float bias, in FusedActivation act, Vector512<float> mask)
    {
        v = ActivationVectors.Apply(v + Vector512.Create(bias), act);
        Avx512F.MaskStore(y, mask, v);
    }
}
