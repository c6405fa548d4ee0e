using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The AVX2 kernel for weights too wide for int16 accumulation (8-bit weights with 8-bit mantissas, where a
/// u8·s8 pair of vpmaddubsw can reach 65280): C as <see cref="ScalarKernel"/>, with exact int32 block sums.
/// Each activation dword (4 channels of one pixel) is split into its even and odd bytes as int16 (vpand,
/// vpsrlw), and vpmaddwd with the int16 weight pairs (q0, q2) and (q1, q3) (<see cref="PackedWeights.WideWeights"/>)
/// adds u0·q0 + u2·q2 and u1·q1 + u3·q3 into the pixel's int32 lane. One pass over K, where the nibble split made
/// two (twice the vpmaddubsw, block epilogues and widenings). The 32-pixel tile is done as two halves of 4 rows × 16 pixels.
/// </summary>
public static unsafe class Avx2WideKernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in TileArgs t)
    {
        var sink = new BufferSink256(t.C);
        Run(t, ref sink);
    }

    /// <summary>C handed to <paramref name="sink"/> from registers (e.g. <see cref="RunSink256"/>: straight into y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TSink>(in TileArgs t, ref TSink sink)
        where TSink : struct, ITileSink256
    {
        Half(t, 0, ref sink);
        Half(t, 16, ref sink);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Half<TSink>(in TileArgs t, int p0, ref TSink sink)
        where TSink : struct, ITileSink256
    {
        var even = Vector256.Create((short)0xFF);
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        var q = (int*)t.Q;
        var aOff = t.AOffsets;
        var steps = t.StepsPerBlock;
        var abase = t.A + 4 * p0;
        for (var kb = 0; kb < t.KBlocks; kb++)
        {
            Vector256<int> s00 = default, s01 = default, s10 = default, s11 = default;
            Vector256<int> s20 = default, s21 = default, s30 = default, s31 = default;
            for (var i = 0; i < steps; i++)
            {
                var a = abase + *aOff++;
                var a0 = Vector256.Load((short*)a);
                var a1 = Vector256.Load((short*)(a + 32));
                var e0 = a0 & even;
                var o0 = Avx2.ShiftRightLogical(a0, 8);
                var e1 = a1 & even;
                var o1 = Avx2.ShiftRightLogical(a1, 8);
                var we = Vector256.Create(q[0]).AsInt16();
                var wo = Vector256.Create(q[1]).AsInt16();
                s00 += Avx2.MultiplyAddAdjacent(e0, we) + Avx2.MultiplyAddAdjacent(o0, wo);
                s01 += Avx2.MultiplyAddAdjacent(e1, we) + Avx2.MultiplyAddAdjacent(o1, wo);
                we = Vector256.Create(q[2]).AsInt16();
                wo = Vector256.Create(q[3]).AsInt16();
                s10 += Avx2.MultiplyAddAdjacent(e0, we) + Avx2.MultiplyAddAdjacent(o0, wo);
                s11 += Avx2.MultiplyAddAdjacent(e1, we) + Avx2.MultiplyAddAdjacent(o1, wo);
                we = Vector256.Create(q[4]).AsInt16();
                wo = Vector256.Create(q[5]).AsInt16();
                s20 += Avx2.MultiplyAddAdjacent(e0, we) + Avx2.MultiplyAddAdjacent(o0, wo);
                s21 += Avx2.MultiplyAddAdjacent(e1, we) + Avx2.MultiplyAddAdjacent(o1, wo);
                we = Vector256.Create(q[6]).AsInt16();
                wo = Vector256.Create(q[7]).AsInt16();
                s30 += Avx2.MultiplyAddAdjacent(e0, we) + Avx2.MultiplyAddAdjacent(o0, wo);
                s31 += Avx2.MultiplyAddAdjacent(e1, we) + Avx2.MultiplyAddAdjacent(o1, wo);
                q += 8;
            }
            var s = t.S + t.SOffsets[kb] + p0;
            var sc0 = Vector256.Load(s);
            var sc1 = Vector256.Load(s + 8);
            var xi = t.Xi + kb * 4;
            var corr = t.Correction + kb * 4;
            c00 = BlockEpilogue256.Apply(c00, s00, sc0, corr[0], xi[0]);
            c01 = BlockEpilogue256.Apply(c01, s01, sc1, corr[0], xi[0]);
            c10 = BlockEpilogue256.Apply(c10, s10, sc0, corr[1], xi[1]);
            c11 = BlockEpilogue256.Apply(c11, s11, sc1, corr[1], xi[1]);
            c20 = BlockEpilogue256.Apply(c20, s20, sc0, corr[2], xi[2]);
            c21 = BlockEpilogue256.Apply(c21, s21, sc1, corr[2], xi[2]);
            c30 = BlockEpilogue256.Apply(c30, s30, sc0, corr[3], xi[3]);
            c31 = BlockEpilogue256.Apply(c31, s31, sc1, corr[3], xi[3]);
        }
        sink.Store(p0, c00, c01, c10, c11, c20, c21, c30, c31);
    }
}
