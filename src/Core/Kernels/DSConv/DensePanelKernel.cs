using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// AVX-512 small-batch fully connected kernel over panels of 16 output rows: per pair of K one vpmaddwd of the
/// broadcast int16 mantissa pair with the 16 rows' int16 weight pairs adds into 16 exact int32 block sums at
/// once (no horizontal sums); per block C += ξ · (s · float(sum)), as the tile kernels.
/// </summary>
public static unsafe class DensePanelKernel
{
    /// <summary>Rows of a panel.</summary>
    public const int Rows = 16;

    /// <param name="m">Int16 mantissas of one row, blocks <paramref name="blockStride"/> apart (zero padded).</param>
    /// <param name="w">Weights of the panel: [block][pair][16 rows][2] sbyte (half the memory traffic of int16).</param>
    /// <param name="xi">ξ of the panel: [block][16].</param>
    /// <param name="c">Out: 16 floats.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(short* m, float* s, sbyte* w, float* xi, int blocks, int blockStride, float* c)
    {
        var acc = Vector512<float>.Zero;
        var pairs = blockStride / 2;
        var mp = (int*)m;
        for (var j = 0; j < blocks; j++)
        {
            var sum = Vector512<int>.Zero;
            for (var p = 0; p < pairs; p++)
            {
                sum += Avx512BW.MultiplyAddAdjacent(Vector512.Create(mp[p]).AsInt16(), Avx512BW.ConvertToVector512Int16(Vector256.Load(w)));
                w += 32;
            }
            mp += pairs;
            acc = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum) * Vector512.Create(s[j]), Vector512.Load(xi + j * 16), acc);
        }
        acc.Store(c);
    }
}
