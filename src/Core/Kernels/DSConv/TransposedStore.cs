using DSConvService.Core.Kernels.Gemm;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The store of a channel-vector tile whose 4 pixels are neighbours in one output row: C holds [pixel][32 rows],
/// y wants [row][pixel]. Sixteen rows are transposed in registers (two unpacks and two shuffles per pair of
/// vectors), so every row gets one 16-byte store instead of four scalar ones.
/// </summary>
public static unsafe class TransposedStore
{
    /// <param name="c">The tile [4 pixels][32 rows]; rows r0 .. r0+15 are stored.</param>
    /// <param name="y">Output of row r0, pixel 0 (rows are <paramref name="stride"/> floats apart); residual likewise (or null).</param>
    /// <param name="rows">Rows to store, at most 16.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FourPixels(float* c, int r0, Vector512<float> bias, float* y, float* residual, long stride, int rows, in FusedActivation act)
    {
        var p0 = Vector512.Load(c + r0) + bias;
        var p1 = Vector512.Load(c + 32 + r0) + bias;
        var p2 = Vector512.Load(c + 64 + r0) + bias;
        var p3 = Vector512.Load(c + 96 + r0) + bias;
        var t0 = Avx512F.UnpackLow(p0, p1);
        var t1 = Avx512F.UnpackHigh(p0, p1);
        var t2 = Avx512F.UnpackLow(p2, p3);
        var t3 = Avx512F.UnpackHigh(p2, p3);
        // Lane k of u_j holds the 4 pixels of row 4k + j.
        Rows(Avx512F.Shuffle(t0, t2, 0x44), 0, y, residual, stride, rows, act);
        Rows(Avx512F.Shuffle(t0, t2, 0xEE), 1, y, residual, stride, rows, act);
        Rows(Avx512F.Shuffle(t1, t3, 0x44), 2, y, residual, stride, rows, act);
        Rows(Avx512F.Shuffle(t1, t3, 0xEE), 3, y, residual, stride, rows, act);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows(Vector512<float> u, int j, float* y, float* residual, long stride, int rows, in FusedActivation act)
    {
        if (residual != null)
        {
            u += Vector512.Create(
                Vector256.Create(Row(residual, j, stride, rows), Row(residual, 4 + j, stride, rows)),
                Vector256.Create(Row(residual, 8 + j, stride, rows), Row(residual, 12 + j, stride, rows)));
        }
        u = ActivationVectors.Apply(u, act);
        if (j < rows)
        {
            u.GetLower().GetLower().Store(y + j * stride);
        }
        if (4 + j < rows)
        {
            Avx512F.ExtractVector128(u, 1).Store(y + (4 + j) * stride);
        }
        if (8 + j < rows)
        {
            Avx512F.ExtractVector128(u, 2).Store(y + (8 + j) * stride);
        }
        if (12 + j < rows)
        {
            Avx512F.ExtractVector128(u, 3).Store(y + (12 + j) * stride);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Row(float* residual, int r, long stride, int rows) =>
        r < rows ? Vector128.Load(residual + r * stride) : Vector128<float>.Zero;
}
