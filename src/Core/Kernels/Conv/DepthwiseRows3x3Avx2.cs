using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// The inner loops of the AVX2 3×3 depthwise kernel for an interior column chunk (every tap inside the row)
/// over the output rows whose three input rows all exist: row pointers advance by a stride, the 9 weights
/// stay in registers and the activation is a type argument, so an output vector costs its loads, FMAs and
/// one store. Stride 2 takes even and odd columns with vshufps inside each 128-bit lane; all taps share that
/// lane order, so one vpermpd per output puts it right (not one per tap).
/// </summary>
internal static unsafe class DepthwiseRows3x3Avx2
{
    /// <summary>Output rows [oy0, oy1) of the 8 outputs at dst; row oy reads input rows from x + (oy·strideH − 1)·width (pad 1 above, no dilation).</summary>
    public static void Run(float* x, int width, int strideH, int strideW, int padTop, float* w, float bias, float* dst, int outWidth,
        int oy0, int oy1, FusedActivation act)
    {
        switch (act.Kind)
        {
            case ActivationKind.None:
                Rows(x, width, strideH, strideW, padTop, w, bias, dst, outWidth, oy0, oy1, default(IdentityActivation256));
                break;
            case ActivationKind.Relu:
                Rows(x, width, strideH, strideW, padTop, w, bias, dst, outWidth, oy0, oy1, default(ReluActivation256));
                break;
            case ActivationKind.Clip:
                Rows(x, width, strideH, strideW, padTop, w, bias, dst, outWidth, oy0, oy1, new ClipActivation256(act.Min, act.Max));
                break;
            default:
                Rows(x, width, strideH, strideW, padTop, w, bias, dst, outWidth, oy0, oy1, new OtherActivation256(act));
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TAct>(float* x, int width, int strideH, int strideW, int padTop, float* w, float bias, float* dst, int outWidth,
        int oy0, int oy1, TAct act)
        where TAct : struct, ITileActivation256
    {
        var w0 = Vector256.Create(w[0]);
        var w1 = Vector256.Create(w[1]);
        var w2 = Vector256.Create(w[2]);
        var w3 = Vector256.Create(w[3]);
        var w4 = Vector256.Create(w[4]);
        var w5 = Vector256.Create(w[5]);
        var w6 = Vector256.Create(w[6]);
        var w7 = Vector256.Create(w[7]);
        var w8 = Vector256.Create(w[8]);
        var vb = Vector256.Create(bias);
        long row = width;
        var p = x + (long)(oy0 * strideH - padTop) * width;
        var step = row * strideH;
        var y = dst + (long)oy0 * outWidth;
        if (strideW == 1)
        {
            for (var oy = oy0; oy < oy1; oy++, p += step, y += outWidth)
            {
                var a0 = Fma.MultiplyAdd(w0, Vector256.Load(p), vb);
                var a1 = Avx.Multiply(w3, Vector256.Load(p + row));
                var a2 = Avx.Multiply(w6, Vector256.Load(p + 2 * row));
                a0 = Fma.MultiplyAdd(w1, Vector256.Load(p + 1), a0);
                a1 = Fma.MultiplyAdd(w4, Vector256.Load(p + row + 1), a1);
                a2 = Fma.MultiplyAdd(w7, Vector256.Load(p + 2 * row + 1), a2);
                a0 = Fma.MultiplyAdd(w2, Vector256.Load(p + 2), a0);
                a1 = Fma.MultiplyAdd(w5, Vector256.Load(p + row + 2), a1);
                a2 = Fma.MultiplyAdd(w8, Vector256.Load(p + 2 * row + 2), a2);
                act.Apply(a0 + a1 + a2).Store(y);
            }
            return;
        }
        for (var oy = oy0; oy < oy1; oy++, p += step, y += outWidth)
        {
            var a0 = vb;
            var a1 = Vector256<float>.Zero;
            var a2 = Vector256<float>.Zero;
            Taps(p, w0, w1, w2, ref a0);
            Taps(p + row, w3, w4, w5, ref a1);
            Taps(p + 2 * row, w6, w7, w8, ref a2);
            // Lanes hold outputs 0, 1, 4, 5, 2, 3, 6, 7: swap the middle 64-bit pairs.
            var sum = Avx2.Permute4x64((a0 + a1 + a2).AsDouble(), 0b11_01_10_00).AsSingle();
            act.Apply(sum).Store(y);
        }
    }

    /// <summary>acc += the three stride-2 taps of one input row (columns r, r + 1, r + 2 for 8 outputs, in vshufps lane order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Taps(float* r, Vector256<float> wa, Vector256<float> wb, Vector256<float> wc, ref Vector256<float> acc)
    {
        var lo = Vector256.Load(r);
        var hi = Vector256.Load(r + 8);
        var lo2 = Vector256.Load(r + 2);
        var hi2 = Vector256.Load(r + 10);
        acc = Fma.MultiplyAdd(wa, Avx.Shuffle(lo, hi, 0b10_00_10_00), acc);
        acc = Fma.MultiplyAdd(wb, Avx.Shuffle(lo, hi, 0b11_01_11_01), acc);
        acc = Fma.MultiplyAdd(wc, Avx.Shuffle(lo2, hi2, 0b10_00_10_00), acc);
    }
}
