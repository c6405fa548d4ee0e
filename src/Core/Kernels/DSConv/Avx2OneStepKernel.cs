using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// <see cref="Avx2Kernel"/> for widths where at most two steps fit int16 (<see cref="TileArgs.Int16Steps"/> ≤ 2;
/// 7-bit weights with 8-bit mantissas: pairs up to 2·255·64 = 32640): each vpmaddubsw result goes straight
/// into vpmaddwd with ones and the int32 block sum, without the int16 accumulator of the general loop (whose
/// add and chunk bookkeeping cost as much as the products there). Same C as <see cref="ScalarKernel"/>.
/// </summary>
public static unsafe class Avx2OneStepKernel
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
        var ones = Vector256.Create((short)1);
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
                var a0 = Vector256.Load(a);
                var a1 = Vector256.Load(a + 32);
                var w = Vector256.Create(q[0]).AsSByte();
                s00 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a0, w), ones);
                s01 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a1, w), ones);
                w = Vector256.Create(q[1]).AsSByte();
                s10 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a0, w), ones);
                s11 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a1, w), ones);
                w = Vector256.Create(q[2]).AsSByte();
                s20 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a0, w), ones);
                s21 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a1, w), ones);
                w = Vector256.Create(q[3]).AsSByte();
                s30 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a0, w), ones);
                s31 += Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a1, w), ones);
                q += 4;
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
