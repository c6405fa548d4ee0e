using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>AVX2/FMA micro-kernel: 6 rows × 16 columns = 12 ymm accumulators (edge panel: 8), fits the 16 ymm registers.</summary>
public sealed unsafe class Avx2MicroKernel : IGemmMicroKernel
{
    public static readonly Avx2MicroKernel Instance = new();

    public GemmIsa Isa => GemmIsa.Avx2;
    public int MR => 6;
    public int NR => 16;
    public int NRStep => 8;

    public void Run(int kc, float* a, float* b, int width, float* c, int ldc, bool accumulate) =>
        Run(kc, a, b, width, c, ldc, accumulate, default(NoTileFinal256));

    public bool FusesEpilogue => true;

    public void RunFinal(int kc, float* a, float* b, int width, float* c, int ldc, bool accumulate, float* rowBias, in FusedActivation act)
    {
        switch (act.Kind)
        {
            case ActivationKind.None:
                Run(kc, a, b, width, c, ldc, accumulate, new RowBiasTileFinal256<IdentityActivation256>(rowBias, default));
                break;
            case ActivationKind.Relu:
                Run(kc, a, b, width, c, ldc, accumulate, new RowBiasTileFinal256<ReluActivation256>(rowBias, default));
                break;
            case ActivationKind.Clip:
                Run(kc, a, b, width, c, ldc, accumulate, new RowBiasTileFinal256<ClipActivation256>(rowBias, new(act.Min, act.Max)));
                break;
            default:
                Run(kc, a, b, width, c, ldc, accumulate, new RowBiasTileFinal256<OtherActivation256>(rowBias, new(act)));
                break;
        }
    }

    private static void Run<TFinal>(int kc, float* a, float* b, int width, float* c, int ldc, bool accumulate, TFinal final)
        where TFinal : struct, ITileFinal256
    {
        if (width == 16)
        {
            Kernel6x16(kc, a, b, c, ldc, accumulate, final);
        }
        else
        {
            Kernel6x8(kc, a, b, c, ldc, accumulate, final);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x16<TFinal>(int kc, float* a, float* b, float* c, int ldc, bool accumulate, TFinal final)
        where TFinal : struct, ITileFinal256
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Vector256.Load(c + 0 * ldc + 0);
            c01 = Vector256.Load(c + 0 * ldc + 8);
            c10 = Vector256.Load(c + 1 * ldc + 0);
            c11 = Vector256.Load(c + 1 * ldc + 8);
            c20 = Vector256.Load(c + 2 * ldc + 0);
            c21 = Vector256.Load(c + 2 * ldc + 8);
            c30 = Vector256.Load(c + 3 * ldc + 0);
            c31 = Vector256.Load(c + 3 * ldc + 8);
            c40 = Vector256.Load(c + 4 * ldc + 0);
            c41 = Vector256.Load(c + 4 * ldc + 8);
            c50 = Vector256.Load(c + 5 * ldc + 0);
            c51 = Vector256.Load(c + 5 * ldc + 8);
        }
        else
        {
            c00 = Vector256<float>.Zero;
            c01 = Vector256<float>.Zero;
            c10 = Vector256<float>.Zero;
            c11 = Vector256<float>.Zero;
            c20 = Vector256<float>.Zero;
            c21 = Vector256<float>.Zero;
            c30 = Vector256<float>.Zero;
            c31 = Vector256<float>.Zero;
            c40 = Vector256<float>.Zero;
            c41 = Vector256<float>.Zero;
            c50 = Vector256<float>.Zero;
            c51 = Vector256<float>.Zero;
        }
        for (var k = 0; k < kc; k++)
        {
            Sse.Prefetch0(a + Avx512MicroKernel.PrefetchFloats);
            var b0 = Vector256.Load(b + 0);
            var b1 = Vector256.Load(b + 8);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(a0, b0, c00);
            c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(a1, b0, c10);
            c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(a2, b0, c20);
            c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(a3, b0, c30);
            c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(a4, b0, c40);
            c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(a5, b0, c50);
            c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += 6;
            b += 16;
        }
        if (TFinal.Active)
        {
            c00 = final.Apply(c00, 0);
            c01 = final.Apply(c01, 0);
            c10 = final.Apply(c10, 1);
            c11 = final.Apply(c11, 1);
            c20 = final.Apply(c20, 2);
            c21 = final.Apply(c21, 2);
            c30 = final.Apply(c30, 3);
            c31 = final.Apply(c31, 3);
            c40 = final.Apply(c40, 4);
            c41 = final.Apply(c41, 4);
            c50 = final.Apply(c50, 5);
            c51 = final.Apply(c51, 5);
        }
        c00.Store(c + 0 * ldc + 0);
        c01.Store(c + 0 * ldc + 8);
        c10.Store(c + 1 * ldc + 0);
        c11.Store(c + 1 * ldc + 8);
        c20.Store(c + 2 * ldc + 0);
        c21.Store(c + 2 * ldc + 8);
        c30.Store(c + 3 * ldc + 0);
        c31.Store(c + 3 * ldc + 8);
        c40.Store(c + 4 * ldc + 0);
        c41.Store(c + 4 * ldc + 8);
        c50.Store(c + 5 * ldc + 0);
        c51.Store(c + 5 * ldc + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel6x8<TFinal>(int kc, float* a, float* b, float* c, int ldc, bool accumulate, TFinal final)
        where TFinal : struct, ITileFinal256
    {
        Vector256<float> c00, c10, c20, c30, c40, c50;
        if (accumulate)
        {
            c00 = Vector256.Load(c + 0 * ldc + 0);
            c10 = Vector256.Load(c + 1 * ldc + 0);
            c20 = Vector256.Load(c + 2 * ldc + 0);
            c30 = Vector256.Load(c + 3 * ldc + 0);
            c40 = Vector256.Load(c + 4 * ldc + 0);
            c50 = Vector256.Load(c + 5 * ldc + 0);
        }
        else
        {
            c00 = Vector256<float>.Zero;
            c10 = Vector256<float>.Zero;
            c20 = Vector256<float>.Zero;
            c30 = Vector256<float>.Zero;
            c40 = Vector256<float>.Zero;
            c50 = Vector256<float>.Zero;
        }
        for (var k = 0; k < kc; k++)
        {
            Sse.Prefetch0(a + Avx512MicroKernel.PrefetchFloats);
            var b0 = Vector256.Load(b + 0);
            var a0 = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(a0, b0, c00);
            var a1 = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(a1, b0, c10);
            var a2 = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(a2, b0, c20);
            var a3 = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(a3, b0, c30);
            var a4 = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(a4, b0, c40);
            var a5 = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(a5, b0, c50);
            a += 6;
            b += 8;
        }
        if (TFinal.Active)
        {
            c00 = final.Apply(c00, 0);
            c10 = final.Apply(c10, 1);
            c20 = final.Apply(c20, 2);
            c30 = final.Apply(c30, 3);
            c40 = final.Apply(c40, 4);
            c50 = final.Apply(c50, 5);
        }
        c00.Store(c + 0 * ldc + 0);
        c10.Store(c + 1 * ldc + 0);
        c20.Store(c + 2 * ldc + 0);
        c30.Store(c + 3 * ldc + 0);
        c40.Store(c + 4 * ldc + 0);
        c50.Store(c + 5 * ldc + 0);
    }

    public int NarrowCols => 0;

    public void RunNarrow(int kc, float* a, float* b, int width, int rows, int cols, float* c, int ldc, bool accumulate) =>
        throw new NotSupportedException();
}
