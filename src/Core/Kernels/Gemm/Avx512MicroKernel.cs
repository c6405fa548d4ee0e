using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>AVX-512F micro-kernel: 8 rows × 48 columns = 24 zmm accumulators (narrower edge panels: 32, 16). Every accumulator is a local so the JIT keeps it in a register; the code is unrolled by hand on purpose.</summary>
public sealed unsafe class Avx512MicroKernel : IGemmMicroKernel
{
    public static readonly Avx512MicroKernel Instance = new();

    /// <summary>
    /// How far ahead in packed A (floats, 4 KiB) each K step prefetches. Large weights come from DRAM once per run (ResNet18's
    /// 512×4608 layers hold 9.4 MB each); the hardware prefetcher alone left the 8×48 loop waiting on them: ResNet18,
    /// 1 thread, 3×3 layers at 7×7 1.80–1.99 → 1.27–1.33 ms, at 14×14 1.44–1.54 → 1.25–1.31 ms (the AVX2 kernel, at half
    /// the FMA rate, 2.91–3.01 → 2.67–2.80 ms at 7×7).
    /// </summary>
    internal const int PrefetchFloats = 1024;

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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            Sse.Prefetch0(a + PrefetchFloats);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            Sse.Prefetch0(a + PrefetchFloats);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            Sse.Prefetch0(a + PrefetchFloats);
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

    /// <summary>Columns up to this many are computed with <see cref="RunNarrow"/> (8 rows in one ymm, a broadcast per column).</summary>
    public int NarrowCols => 4;

    public void RunNarrow(int kc, float* a, float* b, int width, int rows, int cols, float* c, int ldc, bool accumulate)
    {
        switch (cols)
        {
            case 1:
                Narrow1(kc, a, b, width, rows, c, ldc, accumulate);
                break;
            case 2:
                Narrow2(kc, a, b, width, rows, c, ldc, accumulate);
                break;
            case 3:
                Narrow3(kc, a, b, width, rows, c, ldc, accumulate);
                break;
            default:
                Narrow4(kc, a, b, width, rows, c, ldc, accumulate);
                break;
        }
    }

    private static void StoreColumn(Vector256<float> sum, int rows, float* c, int ldc, bool accumulate)
    {
        for (var r = 0; r < rows; r++)
        {
            c[r * ldc] = (accumulate ? c[r * ldc] : 0f) + sum.GetElement(r);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Narrow1(int kc, float* a, float* b, int width, int rows, float* c, int ldc, bool accumulate)
    {
        Vector256<float> s00 = Vector256<float>.Zero, s01 = Vector256<float>.Zero, s02 = Vector256<float>.Zero, s03 = Vector256<float>.Zero;
        var k = 0;
        for (; k <= kc - 4; k += 4)
        {
            var a0 = Vector256.Load(a + (k + 0) * 8);
            var b0 = b + (k + 0) * width;
            s00 = Fma.MultiplyAdd(a0, Vector256.Create(b0[0]), s00);
            var a1 = Vector256.Load(a + (k + 1) * 8);
            var b1 = b + (k + 1) * width;
            s01 = Fma.MultiplyAdd(a1, Vector256.Create(b1[0]), s01);
            var a2 = Vector256.Load(a + (k + 2) * 8);
            var b2 = b + (k + 2) * width;
            s02 = Fma.MultiplyAdd(a2, Vector256.Create(b2[0]), s02);
            var a3 = Vector256.Load(a + (k + 3) * 8);
            var b3 = b + (k + 3) * width;
            s03 = Fma.MultiplyAdd(a3, Vector256.Create(b3[0]), s03);
        }
        for (; k < kc; k++)
        {
            var a0 = Vector256.Load(a + k * 8);
            var b0 = b + k * width;
            s00 = Fma.MultiplyAdd(a0, Vector256.Create(b0[0]), s00);
        }
        StoreColumn(s00 + s01 + s02 + s03, rows, c + 0, ldc, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Narrow2(int kc, float* a, float* b, int width, int rows, float* c, int ldc, bool accumulate)
    {
        Vector256<float> s00 = Vector256<float>.Zero, s01 = Vector256<float>.Zero, s02 = Vector256<float>.Zero, s03 = Vector256<float>.Zero, s10 = Vector256<float>.Zero, s11 = Vector256<float>.Zero, s12 = Vector256<float>.Zero, s13 = Vector256<float>.Zero;
        var k = 0;
        for (; k <= kc - 4; k += 4)
        {
            var a0 = Vector256.Load(a + (k + 0) * 8);
            var b0 = b + (k + 0) * width;
            s00 = Fma.MultiplyAdd(a0, Vector256.Create(b0[0]), s00);
            s10 = Fma.MultiplyAdd(a0, Vector256.Create(b0[1]), s10);
            var a1 = Vector256.Load(a + (k + 1) * 8);
            var b1 = b + (k + 1) * width;
            s01 = Fma.MultiplyAdd(a1, Vector256.Create(b1[0]), s01);
            s11 = Fma.MultiplyAdd(a1, Vector256.Create(b1[1]), s11);
            var a2 = Vector256.Load(a + (k + 2) * 8);
            var b2 = b + (k + 2) * width;
            s02 = Fma.MultiplyAdd(a2, Vector256.Create(b2[0]), s02);
            s12 = Fma.MultiplyAdd(a2, Vector256.Create(b2[1]), s12);
            var a3 = Vector256.Load(a + (k + 3) * 8);
            var b3 = b + (k + 3) * width;
            s03 = Fma.MultiplyAdd(a3, Vector256.Create(b3[0]), s03);
            s13 = Fma.MultiplyAdd(a3, Vector256.Create(b3[1]), s13);
        }
        for (; k < kc; k++)
        {
            var a0 = Vector256.Load(a + k * 8);
            var b0 = b + k * width;
            s00 = Fma.MultiplyAdd(a0, Vector256.Create(b0[0]), s00);
            s10 = Fma.MultiplyAdd(a0, Vector256.Create(b0[1]), s10);
        }
        StoreColumn(s00 + s01 + s02 + s03, rows, c + 0, ldc, accumulate);
        StoreColumn(s10 + s11 + s12 + s13, rows, c + 1, ldc, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Narrow3(int kc, float* a, float* b, int width, int rows, float* c, int ldc, bool accumulate)
    {
        Vector256<float> s00 = Vector256<float>.Zero, s01 = Vector256<float>.Zero, s10 = Vector256<float>.Zero, s11 = Vector256<float>.Zero, s20 = Vector256<float>.Zero, s21 = Vector256<float>.Zero;
        var k = 0;
        for (; k <= kc - 2; k += 2)
        {
            var a0 = Vector256.Load(a + (k + 0) * 8);
            var b0 = b + (k + 0) * width;
            s00 = Fma.MultiplyAdd(a0, Vector256.Create(b0[0]), s00);
            s10 = Fma.MultiplyAdd(a0, Vector256.Create(b0[1]), s10);
            s20 = Fma.MultiplyAdd(a0, Vector256.Create(b0[2]), s20);
            var a1 = Vector256.Load(a + (k + 1) * 8);
            var b1 = b + (k + 1) * width;
            s01 = Fma.MultiplyAdd(a1, Vector256.Create(b1[0]), s01);
            s11 = Fma.MultiplyAdd(a1, Vector256.Create(b1[1]), s11);
            s21 = Fma.MultiplyAdd(a1, Vector256.Create(b1[2]), s21);
        }
        for (; k < kc; k++)
        {
            var a0 = Vector256.Load(a + k * 8);
            var b0 = b + k * width;
            s00 = Fma.MultiplyAdd(a0, Vector256.Create(b0[0]), s00);
            s10 = Fma.MultiplyAdd(a0, Vector256.Create(b0[1]), s10);
            s20 = Fma.MultiplyAdd(a0, Vector256.Create(b0[2]), s20);
        }
        StoreColumn(s00 + s01, rows, c + 0, ldc, accumulate);
        StoreColumn(s10 + s11, rows, c + 1, ldc, accumulate);
        StoreColumn(s20 + s21, rows, c + 2, ldc, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Narrow4(int kc, float* a, float* b, int width, int rows, float* c, int ldc, bool accumulate)
    {
        Vector256<float> s00 = Vector256<float>.Zero, s01 = Vector256<float>.Zero, s10 = Vector256<float>.Zero, s11 = Vector256<float>.Zero, s20 = Vector256<float>.Zero, s21 = Vector256<float>.Zero, s30 = Vector256<float>.Zero, s31 = Vector256<float>.Zero;
        var k = 0;
        for (; k <= kc - 2; k += 2)
        {
            var a0 = Vector256.Load(a + (k + 0) * 8);
            var b0 = b + (k + 0) * width;
            s00 = Fma.MultiplyAdd(a0, Vector256.Create(b0[0]), s00);
            s10 = Fma.MultiplyAdd(a0, Vector256.Create(b0[1]), s10);
            s20 = Fma.MultiplyAdd(a0, Vector256.Create(b0[2]), s20);
            s30 = Fma.MultiplyAdd(a0, Vector256.Create(b0[3]), s30);
            var a1 = Vector256.Load(a + (k + 1) * 8);
            var b1 = b + (k + 1) * width;
            s01 = Fma.MultiplyAdd(a1, Vector256.Create(b1[0]), s01);
            s11 = Fma.MultiplyAdd(a1, Vector256.Create(b1[1]), s11);
            s21 = Fma.MultiplyAdd(a1, Vector256.Create(b1[2]), s21);
            s31 = Fma.MultiplyAdd(a1, Vector256.Create(b1[3]), s31);
        }
        for (; k < kc; k++)
        {
            var a0 = Vector256.Load(a + k * 8);
            var b0 = b + k * width;
            s00 = Fma.MultiplyAdd(a0, Vector256.Create(b0[0]), s00);
            s10 = Fma.MultiplyAdd(a0, Vector256.Create(b0[1]), s10);
            s20 = Fma.MultiplyAdd(a0, Vector256.Create(b0[2]), s20);
            s30 = Fma.MultiplyAdd(a0, Vector256.Create(b0[3]), s30);
        }
        StoreColumn(s00 + s01, rows, c + 0, ldc, accumulate);
        StoreColumn(s10 + s11, rows, c + 1, ldc, accumulate);
        StoreColumn(s20 + s21, rows, c + 2, ldc, accumulate);
        StoreColumn(s30 + s31, rows, c + 3, ldc, accumulate);
    }
}
