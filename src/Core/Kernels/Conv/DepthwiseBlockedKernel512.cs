using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// The AVX-512 form of <see cref="DepthwiseBlockedKernel256"/>: one output row of a block of 16 channels from the
/// zero-padded input of that block (16 interleaved floats per pixel), so each tap of 8 output pixels is 8 loads and
/// 8 FMAs of 16 lanes, half the instructions per output of the 8-channel form. The 8 pixels go to their 16 planes
/// as two 8×8 transposes of the accumulators' halves. Stores, partial groups and the row's tail follow the
/// 8-channel kernel exactly (a group may spill full width into the following rows, which are written after it).
/// </summary>
internal static unsafe class DepthwiseBlockedKernel512
{
    private const int Lanes = 16;

    /// <summary>Whether this CPU runs the kernel at full width (AVX-512F, 512-bit vectors accelerated).</summary>
    public static bool Supported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <param name="rows">Padded input row oy·StrideH (16 floats per pixel).</param>
    /// <param name="paddedWidth">Pixels per padded row (<see cref="DepthwiseChannelBlocked.PaddedSize"/>).</param>
    /// <param name="w">Weights of the block: [tap][16].</param>
    /// <param name="y">Output row oy of the block's first plane; planes <paramref name="planeStride"/> floats apart.</param>
    /// <param name="channels">Channels of the block that exist (1–16).</param>
    /// <param name="planeLeft">Floats from <paramref name="y"/> to the end of its plane.</param>
    public static void Row(float* rows, int paddedWidth, float* w, Vector512<float> bias, in ConvGeometry g, FusedActivation act,
        float* y, long planeStride, int channels, int planeLeft)
    {
        if (g.StrideW == 1 && g.DilationW == 1 && g.KernelW == 3)
        {
            var done = WindowRow(rows, paddedWidth, w, bias, g, act, y, planeStride, channels, planeLeft);
            if (done < g.OutWidth)
            {
                Tail(rows, w, bias, g, act, y, planeStride, channels, done, Lanes, Lanes, (long)Lanes * g.DilationH * paddedWidth);
            }
            return;
        }
        switch (g.StrideW)
        {
            case 1:
                Row(rows, paddedWidth, w, bias, g, act, y, planeStride, channels, planeLeft, new WidePixelStep1());
                break;
            case 2:
                Row(rows, paddedWidth, w, bias, g, act, y, planeStride, channels, planeLeft, new WidePixelStep2());
                break;
            default:
                Row(rows, paddedWidth, w, bias, g, act, y, planeStride, channels, planeLeft, new PixelStepAny(Lanes * g.StrideW));
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row<TStep>(float* rows, int paddedWidth, float* w, Vector512<float> bias, in ConvGeometry g, FusedActivation act,
        float* y, long planeStride, int channels, int planeLeft, TStep pixel)
        where TStep : struct, IPixelStep
    {
        var kh = g.KernelH;
        var kw = g.KernelW;
        var tapStep = Lanes * g.DilationW;
        var rowStep = (long)Lanes * g.DilationH * paddedWidth;
        var ox = 0;
        for (; ox < g.OutWidth && ox + 8 <= planeLeft; ox += 8)
        {
            Vector512<float> a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
            var r = rows + (long)ox * pixel.Floats;
            var wt = w;
            for (var ky = 0; ky < kh; ky++, r += rowStep)
            {
                var p = r;
                for (var kx = 0; kx < kw; kx++, p += tapStep, wt += Lanes)
                {
                    var wv = Vector512.Load(wt);
                    a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(p), wv, a0);
                    a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + pixel.Floats), wv, a1);
                    a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 2 * pixel.Floats), wv, a2);
                    a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 3 * pixel.Floats), wv, a3);
                    a4 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 4 * pixel.Floats), wv, a4);
                    a5 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 5 * pixel.Floats), wv, a5);
                    a6 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 6 * pixel.Floats), wv, a6);
                    a7 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 7 * pixel.Floats), wv, a7);
                }
            }
            Store(a0, a1, a2, a3, a4, a5, a6, a7, act, y + ox, planeStride, channels);
        }
        if (ox < g.OutWidth)
        {
            Tail(rows, w, bias, g, act, y, planeStride, channels, ox, pixel.Floats, tapStep, rowStep);
        }
    }

    /// <summary>
    /// 3 taps wide, stride 1, dilation 1: each padded pixel of a kernel row is loaded once for the 8 outputs (10 loads
    /// instead of 24) through a window of 3 registers, the FMAs per output in the same order (ky, then kx).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int WindowRow(float* rows, int paddedWidth, float* w, Vector512<float> bias, in ConvGeometry g, FusedActivation act,
        float* y, long planeStride, int channels, int planeLeft)
    {
        var kh = g.KernelH;
        var rowStep = (long)Lanes * g.DilationH * paddedWidth;
        var ox = 0;
        for (; ox < g.OutWidth && ox + 8 <= planeLeft; ox += 8)
        {
            Vector512<float> a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
            var p = rows + (long)ox * Lanes;
            var wt = w;
            for (var ky = 0; ky < kh; ky++, p += rowStep, wt += 3 * Lanes)
            {
                var w0 = Vector512.Load(wt);
                var w1 = Vector512.Load(wt + Lanes);
                var w2 = Vector512.Load(wt + 2 * Lanes);
                var x0 = Vector512.Load(p);
                var x1 = Vector512.Load(p + Lanes);
                var x2 = Vector512.Load(p + 2 * Lanes);
                a0 = Fma3(x0, x1, x2, w0, w1, w2, a0);
                x0 = Vector512.Load(p + 3 * Lanes);
                a1 = Fma3(x1, x2, x0, w0, w1, w2, a1);
                x1 = Vector512.Load(p + 4 * Lanes);
                a2 = Fma3(x2, x0, x1, w0, w1, w2, a2);
                x2 = Vector512.Load(p + 5 * Lanes);
                a3 = Fma3(x0, x1, x2, w0, w1, w2, a3);
                x0 = Vector512.Load(p + 6 * Lanes);
                a4 = Fma3(x1, x2, x0, w0, w1, w2, a4);
                x1 = Vector512.Load(p + 7 * Lanes);
                a5 = Fma3(x2, x0, x1, w0, w1, w2, a5);
                x2 = Vector512.Load(p + 8 * Lanes);
                a6 = Fma3(x0, x1, x2, w0, w1, w2, a6);
                x0 = Vector512.Load(p + 9 * Lanes);
                a7 = Fma3(x1, x2, x0, w0, w1, w2, a7);
            }
            Store(a0, a1, a2, a3, a4, a5, a6, a7, act, y + ox, planeStride, channels);
        }
        return ox;
    }

    // a + x0·w0, then + x1·w1, then + x2·w2: one kernel row of one output.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fma3(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2,
        Vector512<float> w0, Vector512<float> w1, Vector512<float> w2, Vector512<float> a) =>
        Avx512F.FusedMultiplyAdd(x2, w2, Avx512F.FusedMultiplyAdd(x1, w1, Avx512F.FusedMultiplyAdd(x0, w0, a)));

    // The last outputs of a plane (fewer than 8, where a full-width store would leave it): the 8 outputs are computed
    // as in the row loop (the lanes past the row read the slack after the block), stored on the stack, and the first
    // ones copied out. Computing them one at a time was a chain of dependent FMAs, as long as the rest of a 7×7 plane.
    private static void Tail(float* rows, float* w, Vector512<float> bias, in ConvGeometry g, FusedActivation act,
        float* y, long planeStride, int channels, int ox0, int step, int tapStep, long rowStep)
    {
        var count = g.OutWidth - ox0;
        Vector512<float> a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
        var r = rows + (long)ox0 * step;
        var wt = w;
        for (var ky = 0; ky < g.KernelH; ky++, r += rowStep)
        {
            var p = r;
            for (var kx = 0; kx < g.KernelW; kx++, p += tapStep, wt += Lanes)
            {
                var wv = Vector512.Load(wt);
                a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(p), wv, a0);
                a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + step), wv, a1);
                a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 2 * step), wv, a2);
                a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 3 * step), wv, a3);
                a4 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 4 * step), wv, a4);
                a5 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 5 * step), wv, a5);
                a6 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 6 * step), wv, a6);
                a7 = Avx512F.FusedMultiplyAdd(Vector512.Load(p + 7 * step), wv, a7);
            }
        }
        var planes = stackalloc float[8 * Lanes];
        Store(a0, a1, a2, a3, a4, a5, a6, a7, act, planes, 8, Lanes);
        for (var c = 0; c < channels; c++)
        {
            new ReadOnlySpan<float>(planes + 8 * c, count).CopyTo(new Span<float>(y + c * planeStride + ox0, count));
        }
    }

    // act of 8 pixels of 16 channels into the first `channels` of 16 planes: channels 0–7 from the low halves, 8–15 from the high.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, Vector512<float> a4,
        Vector512<float> a5, Vector512<float> a6, Vector512<float> a7, FusedActivation act, float* y, long planeStride, int channels)
    {
        a0 = ActivationVectors.Apply(a0, act);
        a1 = ActivationVectors.Apply(a1, act);
        a2 = ActivationVectors.Apply(a2, act);
        a3 = ActivationVectors.Apply(a3, act);
        a4 = ActivationVectors.Apply(a4, act);
        a5 = ActivationVectors.Apply(a5, act);
        a6 = ActivationVectors.Apply(a6, act);
        a7 = ActivationVectors.Apply(a7, act);
        ChannelBlockTranspose256.BlockToPlanes(a0.GetLower(), a1.GetLower(), a2.GetLower(), a3.GetLower(), a4.GetLower(),
            a5.GetLower(), a6.GetLower(), a7.GetLower(), y, planeStride, Math.Min(channels, 8));
        if (channels > 8)
        {
            ChannelBlockTranspose256.BlockToPlanes(a0.GetUpper(), a1.GetUpper(), a2.GetUpper(), a3.GetUpper(), a4.GetUpper(),
                a5.GetUpper(), a6.GetUpper(), a7.GetUpper(), y + 8 * planeStride, planeStride, channels - 8);
        }
    }
}

/// <summary>Stride 1 in a row of 16-channel pixels: 16 floats between neighbouring outputs' first taps.</summary>
internal readonly struct WidePixelStep1 : IPixelStep
{
    public int Floats => 16;
}

/// <summary>Stride 2 in a row of 16-channel pixels: 32 floats between neighbouring outputs' first taps.</summary>
internal readonly struct WidePixelStep2 : IPixelStep
{
    public int Floats => 32;
}
