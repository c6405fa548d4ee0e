using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The AVX2 kernel for weights too wide for int16 accumulation (8-bit weights with 8-bit mantissas, where a
/// u8·s8 pair of vpmaddubsw can reach 65280): activations zero-extended to int16 (vpmovzxbw), weights packed as
/// int16 (<see cref="PackedWeights.WideWeights"/>), vpmaddwd straight into int32 block sums. Same products per
/// MAC as a 7-bit layer on <see cref="Avx2Kernel"/> and one pass over K, where the nibble split made two
/// (twice the vpmaddubsw, block epilogues and widenings). Exact for every weight and mantissa width.
/// The 32-pixel tile is done as four passes of 4 rows × 8 pixels (8 int32 accumulators).
/// </summary>
public static unsafe class Avx2WideKernel
{
    // Qword order after vphaddd of (pixels 0–3, pixels 4–7) sums: (0,1), (4,5), (2,3), (6,7); this swaps the
    // middle qwords (its own inverse).
    private const byte Middle = 0b11_01_10_00;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in TileArgs t)
    {
        Pass(t, 0);
        Pass(t, 8);
        Pass(t, 16);
        Pass(t, 24);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pass(in TileArgs t, int p0)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        var q = (long*)t.Q;
        var aOff = t.AOffsets;
        var steps = t.StepsPerBlock;
        var abase = t.A + 4 * p0;
        for (var kb = 0; kb < t.KBlocks; kb++)
        {
            Vector256<int> l0 = default, l1 = default, l2 = default, l3 = default;
            Vector256<int> h0 = default, h1 = default, h2 = default, h3 = default;
            for (var i = 0; i < steps; i++)
            {
                var a = abase + *aOff++;
                var lo = Avx2.ConvertToVector256Int16(a);
                var hi = Avx2.ConvertToVector256Int16(a + 16);
                var w = Vector256.Create(q[0]).AsInt16();
                l0 += Avx2.MultiplyAddAdjacent(lo, w);
                h0 += Avx2.MultiplyAddAdjacent(hi, w);
                w = Vector256.Create(q[1]).AsInt16();
                l1 += Avx2.MultiplyAddAdjacent(lo, w);
                h1 += Avx2.MultiplyAddAdjacent(hi, w);
                w = Vector256.Create(q[2]).AsInt16();
                l2 += Avx2.MultiplyAddAdjacent(lo, w);
                h2 += Avx2.MultiplyAddAdjacent(hi, w);
                w = Vector256.Create(q[3]).AsInt16();
                l3 += Avx2.MultiplyAddAdjacent(lo, w);
                h3 += Avx2.MultiplyAddAdjacent(hi, w);
                q += 4;
            }
            // Scales in the order of the sums, so the sums need no permute of their own.
            var sc = Avx2.Permute4x64(Vector256.Load(t.S + t.SOffsets[kb] + p0).AsDouble(), Middle).AsSingle();
            var xi = t.Xi + kb * 4;
            var corr = t.Correction + kb * 4;
            c0 = Epilogue(c0, Avx2.HorizontalAdd(l0, h0), sc, corr[0], xi[0]);
            c1 = Epilogue(c1, Avx2.HorizontalAdd(l1, h1), sc, corr[1], xi[1]);
            c2 = Epilogue(c2, Avx2.HorizontalAdd(l2, h2), sc, corr[2], xi[2]);
            c3 = Epilogue(c3, Avx2.HorizontalAdd(l3, h3), sc, corr[3], xi[3]);
        }
        var c = t.C + p0;
        Avx2.Permute4x64(c0.AsDouble(), Middle).AsSingle().Store(c);
        Avx2.Permute4x64(c1.AsDouble(), Middle).AsSingle().Store(c + 32);
        Avx2.Permute4x64(c2.AsDouble(), Middle).AsSingle().Store(c + 64);
        Avx2.Permute4x64(c3.AsDouble(), Middle).AsSingle().Store(c + 96);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    // The engine runs this kernel only with AVX2 and FMA (DSConvIsaSupport).
    private static Vector256<float> Epilogue(Vector256<float> c, Vector256<int> sum, Vector256<float> scale, int corr, float xi) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum - Vector256.Create(corr)) * scale, Vector256.Create(xi), c);
}
