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
        var stride = t.AStride;
        for (var kb = 0; kb < t.KBlocks; kb++)
        {
            // The block sums start at −corr, so the epilogue has no subtraction (the same integers).
            var corr = t.Correction + kb * 4;
            var s00 = Vector256.Create(-corr[0]);
            var s10 = Vector256.Create(-corr[1]);
            var s20 = Vector256.Create(-corr[2]);
            var s30 = Vector256.Create(-corr[3]);
            var s01 = s00;
            var s11 = s10;
            var s21 = s20;
            var s31 = s30;
            // With a stride the steps of a block are a pointer increment apart, else each has its offset.
            var a = abase + *aOff;
            for (var i = 0; i < steps; i++)
            {
                if (stride == 0)
                {
                    a = abase + aOff[i];
                }
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
                a += stride;
            }
            aOff += steps;
            var s = t.S + t.SOffsets[kb] + p0;
            var sc0 = Vector256.Load(s);
            var sc1 = Vector256.Load(s + 8);
            var xi = t.Xi + kb * 4;
            c00 = BlockEpilogue256.Apply(c00, s00, sc0, xi[0]);
            c01 = BlockEpilogue256.Apply(c01, s01, sc1, xi[0]);
            c10 = BlockEpilogue256.Apply(c10, s10, sc0, xi[1]);
            c11 = BlockEpilogue256.Apply(c11, s11, sc1, xi[1]);
            c20 = BlockEpilogue256.Apply(c20, s20, sc0, xi[2]);
            c21 = BlockEpilogue256.Apply(c21, s21, sc1, xi[2]);
            c30 = BlockEpilogue256.Apply(c30, s30, sc0, xi[3]);
            c31 = BlockEpilogue256.Apply(c31, s31, sc1, xi[3]);
        }
        sink.Store(p0, c00, c01, c10, c11, c20, c21, c30, c31);
    }
}
