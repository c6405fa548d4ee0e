using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// <see cref="DensePanelKernel"/> with AVX2, over panels of 8 output rows: per pair of K one vpmaddwd of the broadcast
/// int16 mantissa pair with the 8 rows' weight pairs (16 bytes sign-extended on load) adds into 8 exact int32 block
/// sums; per block C += ξ · (s · float(sum)), as <see cref="DenseRowKernel"/>, whose per-block horizontal sums cost
/// more than the products (FC 1600→256 at batch 8: 0.44 ms).
/// </summary>
public static unsafe class DensePanelKernel256
{
    /// <summary>Rows of a panel.</summary>
    public const int Rows = 8;

    /// <param name="m">Int16 mantissas of one row, blocks <paramref name="blockStride"/> apart (zero padded).</param>
    /// <param name="w">Weights of the panel: [block][pair][8 rows][2] sbyte.</param>
    /// <param name="xi">ξ of the panel: [block][8].</param>
    /// <param name="c">Out: 8 floats.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(short* m, float* s, sbyte* w, float* xi, int blocks, int blockStride, float* c)
    {
        var acc = Vector256<float>.Zero;
        var pairs = blockStride / 2;
        var mp = (int*)m;
        for (var j = 0; j < blocks; j++)
        {
            // Two sums so that consecutive pairs do not wait on one add chain.
            Vector256<int> sum0 = Vector256<int>.Zero, sum1 = Vector256<int>.Zero;
            var p = 0;
            for (; p + 2 <= pairs; p += 2)
            {
                sum0 += Avx2.MultiplyAddAdjacent(Vector256.Create(mp[p]).AsInt16(), Avx2.ConvertToVector256Int16(w));
                sum1 += Avx2.MultiplyAddAdjacent(Vector256.Create(mp[p + 1]).AsInt16(), Avx2.ConvertToVector256Int16(w + 16));
                w += 32;
            }
            if (p < pairs)
            {
                sum0 += Avx2.MultiplyAddAdjacent(Vector256.Create(mp[p]).AsInt16(), Avx2.ConvertToVector256Int16(w));
                w += 16;
            }
            mp += pairs;
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0 + sum1) * Vector256.Create(s[j]), Vector256.Load(xi + j * Rows), acc);
        }
        acc.Store(c);
    }

    /// <summary>
    /// <see cref="Run"/> for 4 rows of the batch at once (mantissas <paramref name="rowStride"/> int16 apart, scales
    /// <paramref name="blocks"/> apart, C 8 floats apart): each weight pair is widened once for the four rows.
    /// Same numbers as four calls of <see cref="Run"/> (the integer sums are exact in any order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run4(short* m, int rowStride, float* s, sbyte* w, float* xi, int blocks, int blockStride, float* c)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        var pairs = blockStride / 2;
        var m0 = (int*)m;
        var m1 = (int*)(m + rowStride);
        var m2 = (int*)(m + 2 * rowStride);
        var m3 = (int*)(m + 3 * rowStride);
        for (var j = 0; j < blocks; j++)
        {
            Vector256<int> sum0 = Vector256<int>.Zero, sum1 = sum0, sum2 = sum0, sum3 = sum0;
            for (var p = 0; p < pairs; p++)
            {
                var wv = Avx2.ConvertToVector256Int16(w);
                sum0 += Avx2.MultiplyAddAdjacent(Vector256.Create(m0[p]).AsInt16(), wv);
                sum1 += Avx2.MultiplyAddAdjacent(Vector256.Create(m1[p]).AsInt16(), wv);
                sum2 += Avx2.MultiplyAddAdjacent(Vector256.Create(m2[p]).AsInt16(), wv);
                sum3 += Avx2.MultiplyAddAdjacent(Vector256.Create(m3[p]).AsInt16(), wv);
                w += 16;
            }
            m0 += pairs;
            m1 += pairs;
            m2 += pairs;
            m3 += pairs;
            var x = Vector256.Load(xi + j * Rows);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum0) * Vector256.Create(s[j]), x, acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum1) * Vector256.Create(s[blocks + j]), x, acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum2) * Vector256.Create(s[2 * blocks + j]), x, acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum3) * Vector256.Create(s[3 * blocks + j]), x, acc3);
        }
        acc0.Store(c);
        acc1.Store(c + Rows);
        acc2.Store(c + 2 * Rows);
        acc3.Store(c + 3 * Rows);
    }
}
