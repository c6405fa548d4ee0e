using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// <see cref="DepthwiseBlockedKernel256"/>'s row for 3×3-wide taps at stride 1 and dilation 1: neighbouring outputs
/// share inputs, so each padded input pixel of a kernel row is loaded once for all 8 outputs (10 loads instead of 24)
/// through a window of 3 registers. Same FMAs in the same order per output (ky, then kx), so the same floats.
/// `bench depthwise`, Zen 4: 32x112x112 0.216 → 0.19 ms, 144x56x56 0.223 → 0.20, 576x14x14 0.081 → 0.074; a 5-tap
/// window (18 live vectors) was slower on 240x28x28 (0.24 → 0.28) and is not used.
/// </summary>
internal static unsafe class DepthwiseWindowRows256
{
    public static bool Applies(in ConvGeometry g) => g.StrideW == 1 && g.DilationW == 1 && g.KernelW == 3;

    /// <summary>Outputs [0, ox) of the row in groups of 8 (ox: the first output left to the caller's tail); see <see cref="DepthwiseBlockedKernel256.Row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Row(float* rows, int paddedWidth, float* w, Vector256<float> bias, in ConvGeometry g, FusedActivation act,
        float* y, long planeStride, int channels, int planeLeft)
    {
        var kh = g.KernelH;
        var rowStep = 8L * g.DilationH * paddedWidth;
        var ox = 0;
        for (; ox < g.OutWidth && ox + 8 <= planeLeft; ox += 8)
        {
            Vector256<float> a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
            var r = rows + (long)ox * 8;
            var wt = w;
            for (var ky = 0; ky < kh; ky++, r += rowStep)
            {
                Three(r, wt, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7);
                wt += 24;
            }
            ChannelBlockTranspose256.BlockToPlanes(ActivationVectors.Apply(a0, act), ActivationVectors.Apply(a1, act),
                ActivationVectors.Apply(a2, act), ActivationVectors.Apply(a3, act), ActivationVectors.Apply(a4, act),
                ActivationVectors.Apply(a5, act), ActivationVectors.Apply(a6, act), ActivationVectors.Apply(a7, act),
                y + ox, planeStride, channels);
        }
        return ox;
    }

    // One kernel row of 3 taps for 8 outputs: inputs 0..9, the window rotating through x0, x1, x2.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Three(float* p, float* wt, ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2,
        ref Vector256<float> a3, ref Vector256<float> a4, ref Vector256<float> a5, ref Vector256<float> a6, ref Vector256<float> a7)
    {
        var w0 = Vector256.Load(wt);
        var w1 = Vector256.Load(wt + 8);
        var w2 = Vector256.Load(wt + 16);
        var x0 = Vector256.Load(p);
        var x1 = Vector256.Load(p + 8);
        var x2 = Vector256.Load(p + 16);
        a0 = Fma.MultiplyAdd(x2, w2, Fma.MultiplyAdd(x1, w1, Fma.MultiplyAdd(x0, w0, a0)));
        x0 = Vector256.Load(p + 24);
        a1 = Fma.MultiplyAdd(x0, w2, Fma.MultiplyAdd(x2, w1, Fma.MultiplyAdd(x1, w0, a1)));
        x1 = Vector256.Load(p + 32);
        a2 = Fma.MultiplyAdd(x1, w2, Fma.MultiplyAdd(x0, w1, Fma.MultiplyAdd(x2, w0, a2)));
        x2 = Vector256.Load(p + 40);
        a3 = Fma.MultiplyAdd(x2, w2, Fma.MultiplyAdd(x1, w1, Fma.MultiplyAdd(x0, w0, a3)));
        x0 = Vector256.Load(p + 48);
        a4 = Fma.MultiplyAdd(x0, w2, Fma.MultiplyAdd(x2, w1, Fma.MultiplyAdd(x1, w0, a4)));
        x1 = Vector256.Load(p + 56);
        a5 = Fma.MultiplyAdd(x1, w2, Fma.MultiplyAdd(x0, w1, Fma.MultiplyAdd(x2, w0, a5)));
        x2 = Vector256.Load(p + 64);
        a6 = Fma.MultiplyAdd(x2, w2, Fma.MultiplyAdd(x1, w1, Fma.MultiplyAdd(x0, w0, a6)));
        x0 = Vector256.Load(p + 72);
        a7 = Fma.MultiplyAdd(x0, w2, Fma.MultiplyAdd(x2, w1, Fma.MultiplyAdd(x1, w0, a7)));
    }
}
