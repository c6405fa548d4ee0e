using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>AVX-512F micro-kernel: 8 rows × 48 columns = 24 zmm accumulators (narrower edge panels: 32, 16). Every accumulator is a local so the JIT keeps it in a register; the code is unrolled by hand on purpose.</summary>
public sealed unsafe class Avx512MicroKernel : IGemmMicroKernel
{
    public static readonly Avx512MicroKernel Instance = new();

    public GemmIsa Isa => GemmIsa.Avx512;
    public int MR => 8;
    public int NR => 48;
    public int NRStep => 16;

    public void Run(int kc, float* a, float* b, int width, float* c, int ldc, bool accumulate)
    {
        if (width == 48)
        {
            Kernel8x48(kc, a, b, c, ldc, accumulate);
        }
        else if (width == 32)
        {
            Kernel8x32(kc, a, b, c, ldc, accumulate);
        }
        else
        {
            Kernel8x16(kc, a, b, c, ldc, accumulate);
        }
    }

    private static void Kernel8x48(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        Vector512<float> c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32, c40, c41, c42, c50, c51, c52, c60, c61, c62, c70, c71, c72;
        if (accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc + 0);
            c01 = Vector512.Load(c + 0 * ldc + 16);
            c02 = Vector512.Load(c + 0 * ldc + 32);
            c10 = Vector512.Load(c + 1 * ldc + 0);
            c11 = Vector512.Load(c + 1 * ldc + 16);
            c12 = Vector512.Load(c + 1 * ldc + 32);
            c20 = Vector512.Load(c + 2 * ldc + 0);
            c21 = Vector512.Load(c + 2 * ldc + 16);
            c22 = Vector512.Load(c + 2 * ldc + 32);
            c30 = Vector512.Load(c + 3 * ldc + 0);
            c31 = Vector512.Load(c + 3 * ldc + 16);
            c32 = Vector512.Load(c + 3 * ldc + 32);
            c40 = Vector512.Load(c + 4 * ldc + 0);
            c41 = Vector512.Load(c + 4 * ldc + 16);
            c42 = Vector512.Load(c + 4 * ldc + 32);
            c50 = Vector512.Load(c + 5 * ldc + 0);
            c51 = Vector512.Load(c + 5 * ldc + 16);
            c52 = Vector512.Load(c + 5 * ldc + 32);
            c60 = Vector512.Load(c + 6 * ldc + 0);
            c61 = Vector512.Load(c + 6 * ldc + 16);
            c62 = Vector512.Load(c + 6 * ldc + 32);
            c70 = Vector512.Load(c + 7 * ldc + 0);
            c71 = Vector512.Load(c + 7 * ldc + 16);
            c72 = Vector512.Load(c + 7 * ldc + 32);
        }
        else
        {
            c00 = Vector512<float>.Zero;
            c01 = Vector512<float>.Zero;
            c02 = Vector512<float>.Zero;
            c10 = Vector512<float>.Zero;
            c11 = Vector512<float>.Zero;
            c12 = Vector512<float>.Zero;
            c20 = Vector512<float>.Zero;
            c21 = Vector512<float>.Zero;
            c22 = Vector512<float>.Zero;
            c30 = Vector512<float>.Zero;
            c31 = Vector512<float>.Zero;
            c32 = Vector512<float>.Zero;
            c40 = Vector512<float>.Zero;
            c41 = Vector512<float>.Zero;
            c42 = Vector512<float>.Zero;
            c50 = Vector512<float>.Zero;
            c51 = Vector512<float>.Zero;
            c52 = Vector512<float>.Zero;
            c60 = Vector512<float>.Zero;
            c61 = Vector512<float>.Zero;
            c62 = Vector512<float>.Zero;
            c70 = Vector512<float>.Zero;
            c71 = Vector512<float>.Zero;
            c72 = Vector512<float>.Zero;
        }
        for (var k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            var b2 = Vector512.Load(b + 32);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            c02 = Avx512F.FusedMultiplyAdd(a0, b2, c02);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            c12 = Avx512F.FusedMultiplyAdd(a1, b2, c12);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            c22 = Avx512F.FusedMultiplyAdd(a2, b2, c22);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            c32 = Avx512F.FusedMultiplyAdd(a3, b2, c32);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            c42 = Avx512F.FusedMultiplyAdd(a4, b2, c42);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            c52 = Avx512F.FusedMultiplyAdd(a5, b2, c52);
            var a6 = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            c62 = Avx512F.FusedMultiplyAdd(a6, b2, c62);
            var a7 = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            c72 = Avx512F.FusedMultiplyAdd(a7, b2, c72);
            a += 8;
            b += 48;
        }
        c00.Store(c + 0 * ldc + 0);
        c01.Store(c + 0 * ldc + 16);
        c02.Store(c + 0 * ldc + 32);
        c10.Store(c + 1 * ldc + 0);
        c11.Store(c + 1 * ldc + 16);
        c12.Store(c + 1 * ldc + 32);
        c20.Store(c + 2 * ldc + 0);
        c21.Store(c + 2 * ldc + 16);
        c22.Store(c + 2 * ldc + 32);
        c30.Store(c + 3 * ldc + 0);
        c31.Store(c + 3 * ldc + 16);
        c32.Store(c + 3 * ldc + 32);
        c40.Store(c + 4 * ldc + 0);
        c41.Store(c + 4 * ldc + 16);
        c42.Store(c + 4 * ldc + 32);
        c50.Store(c + 5 * ldc + 0);
        c51.Store(c + 5 * ldc + 16);
        c52.Store(c + 5 * ldc + 32);
        c60.Store(c + 6 * ldc + 0);
        c61.Store(c + 6 * ldc + 16);
        c62.Store(c + 6 * ldc + 32);
        c70.Store(c + 7 * ldc + 0);
        c71.Store(c + 7 * ldc + 16);
        c72.Store(c + 7 * ldc + 32);
    }

    private static void Kernel8x32(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc + 0);
            c01 = Vector512.Load(c + 0 * ldc + 16);
            c10 = Vector512.Load(c + 1 * ldc + 0);
            c11 = Vector512.Load(c + 1 * ldc + 16);
            c20 = Vector512.Load(c + 2 * ldc + 0);
            c21 = Vector512.Load(c + 2 * ldc + 16);
            c30 = Vector512.Load(c + 3 * ldc + 0);
            c31 = Vector512.Load(c + 3 * ldc + 16);
            c40 = Vector512.Load(c + 4 * ldc + 0);
            c41 = Vector512.Load(c + 4 * ldc + 16);
            c50 = Vector512.Load(c + 5 * ldc + 0);
            c51 = Vector512.Load(c + 5 * ldc + 16);
            c60 = Vector512.Load(c + 6 * ldc + 0);
            c61 = Vector512.Load(c + 6 * ldc + 16);
            c70 = Vector512.Load(c + 7 * ldc + 0);
            c71 = Vector512.Load(c + 7 * ldc + 16);
        }
        else
        {
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
        }
        for (var k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            var a6 = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            var a7 = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            a += 8;
            b += 32;
        }
        c00.Store(c + 0 * ldc + 0);
        c01.Store(c + 0 * ldc + 16);
        c10.Store(c + 1 * ldc + 0);
        c11.Store(c + 1 * ldc + 16);
        c20.Store(c + 2 * ldc + 0);
        c21.Store(c + 2 * ldc + 16);
        c30.Store(c + 3 * ldc + 0);
        c31.Store(c + 3 * ldc + 16);
        c40.Store(c + 4 * ldc + 0);
        c41.Store(c + 4 * ldc + 16);
        c50.Store(c + 5 * ldc + 0);
        c51.Store(c + 5 * ldc + 16);
        c60.Store(c + 6 * ldc + 0);
        c61.Store(c + 6 * ldc + 16);
        c70.Store(c + 7 * ldc + 0);
        c71.Store(c + 7 * ldc + 16);
    }

    private static void Kernel8x16(int kc, float* a, float* b, float* c, int ldc, bool accumulate)
    {
        Vector512<float> c00, c10, c20, c30, c40, c50, c60, c70;
        if (accumulate)
        {
            c00 = Vector512.Load(c + 0 * ldc + 0);
            c10 = Vector512.Load(c + 1 * ldc + 0);
            c20 = Vector512.Load(c + 2 * ldc + 0);
            c30 = Vector512.Load(c + 3 * ldc + 0);
            c40 = Vector512.Load(c + 4 * ldc + 0);
            c50 = Vector512.Load(c + 5 * ldc + 0);
            c60 = Vector512.Load(c + 6 * ldc + 0);
            c70 = Vector512.Load(c + 7 * ldc + 0);
        }
        else
        {
            c00 = Vector512<float>.Zero;
            c10 = Vector512<float>.Zero;
            c20 = Vector512<float>.Zero;
            c30 = Vector512<float>.Zero;
            c40 = Vector512<float>.Zero;
            c50 = Vector512<float>.Zero;
            c60 = Vector512<float>.Zero;
            c70 = Vector512<float>.Zero;
        }
        for (var k = 0; k < kc; k++)
        {
            var b0 = Vector512.Load(b + 0);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            var a6 = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60);
            var a7 = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70);
            a += 8;
            b += 16;
        }
        c00.Store(c + 0 * ldc + 0);
        c10.Store(c + 1 * ldc + 0);
        c20.Store(c + 2 * ldc + 0);
        c30.Store(c + 3 * ldc + 0);
        c40.Store(c + 4 * ldc + 0);
        c50.Store(c + 5 * ldc + 0);
        c60.Store(c + 6 * ldc + 0);
        c70.Store(c + 7 * ldc + 0);
    }
}
