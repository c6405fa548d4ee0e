using DSConvService.Core.Kernels.Gemm;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The small-batch fully connected kernel: for one input row (BFP mantissas m, block scales s) and a range
/// of output rows, c[o] = Σ_blocks ξ[o,j] · (s[j] · Σ_k q[o,k]·m[k]) with exact int32 block sums
/// (bytes sign-extended to int16, vpmaddwd: |q·m| ≤ 2^14, so every pair fits), then bias and activation.
/// </summary>
public static unsafe class DenseRowKernel
{
    /// <param name="m">Mantissas of the row, blocks <see cref="DenseRowWeights.BlockStride"/> apart, zero padded.</param>
    /// <param name="s">Block scales 2^(e−M+2) of the row.</param>
    /// <param name="residual">Null, or the residual of output row o at residual[o].</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(DSConvIsa isa, sbyte* m, float* s, sbyte* q, float* xi, float* bias, int blocks, int blockStride,
        int o0, int o1, float* y, float* residual, FusedActivation act)
    {
        var rowStride = blocks * blockStride;
        for (var o = o0; o < o1; o++)
        {
            var w = q + (long)o * rowStride;
            var x = xi + (long)o * blocks;
            var c = 0f;
            for (var j = 0; j < blocks; j++)
            {
                var off = j * blockStride;
                var sum = isa switch
                {
                    DSConvIsa.Avx512Int16 or DSConvIsa.Avx512Vnni => Dot512(m + off, w + off, blockStride),
                    DSConvIsa.Avx2 or DSConvIsa.AvxVnni => Dot256(m + off, w + off, blockStride),
                    _ => DotScalar(m + off, w + off, blockStride),
                };
                c = MathF.FusedMultiplyAdd(sum * s[j], x[j], c);
            }
            y[o] = act.Apply(c + bias[o] + (residual == null ? 0f : residual[o]));
        }
    }

    private static int DotScalar(sbyte* a, sbyte* b, int n)
    {
        var sum = 0;
        for (var i = 0; i < n; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Dot256(sbyte* a, sbyte* b, int n)
    {
        var acc = Vector256<int>.Zero;
        for (var i = 0; i < n; i += 16)
        {
            var va = Avx2.ConvertToVector256Int16(a + i);
            var vb = Avx2.ConvertToVector256Int16(b + i);
            acc += Avx2.MultiplyAddAdjacent(va, vb);
        }
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Dot512(sbyte* a, sbyte* b, int n)
    {
        var acc = Vector512<int>.Zero;
        var i = 0;
        for (; i + 32 <= n; i += 32)
        {
            var va = Avx512BW.ConvertToVector512Int16(Vector256.Load(a + i));
            var vb = Avx512BW.ConvertToVector512Int16(Vector256.Load(b + i));
            acc += Avx512BW.MultiplyAddAdjacent(va, vb);
        }
        var sum = Vector512.Sum(acc);
        if (i < n)
        {
            var va = Avx2.ConvertToVector256Int16(a + i);
            var vb = Avx2.ConvertToVector256Int16(b + i);
            sum += Vector256.Sum(Avx2.MultiplyAddAdjacent(va, vb));
        }
        return sum;
    }
}
