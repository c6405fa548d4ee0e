using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The AVX2 fallback of <see cref="Avx512Int16Kernel"/>: same int16 accumulation with 256-bit vectors,
/// the 32-pixel tile done as two halves of 4 rows × 16 pixels.
/// </summary>
public static unsafe class Avx2Kernel
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
        if (t.CorrectionPairs != null)
        {
            Avx2FoldedKernel.Run(t, ref sink);
            return;
        }
        // One or two int16 steps per chunk (7- and 6-bit weights, blocks of ≤ 8 channels): widening every step
        // costs fewer instructions than the int16 accumulator (kernel bench: 7-bit 1.4x, 6-bit 1.07x faster).
        if (t.Int16Steps <= 2)
        {
            Avx2OneStepKernel.Run(t, ref sink);
            return;
        }
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
        var chunk = t.Int16Steps;
        var abase = t.A + 4 * p0;
        for (var kb = 0; kb < t.KBlocks; kb++)
        {
            Vector256<int> s00 = default, s01 = default, s10 = default, s11 = default;
            Vector256<int> s20 = default, s21 = default, s30 = default, s31 = default;
            for (var done = 0; done < steps; done += chunk)
            {
                var n = Math.Min(chunk, steps - done);
                Vector256<short> h00 = default, h01 = default, h10 = default, h11 = default;
                Vector256<short> h20 = default, h21 = default, h30 = default, h31 = default;
                for (var i = 0; i < n; i++)
                {
                    var a = abase + *aOff++;
                    var a0 = Vector256.Load(a);
                    var a1 = Vector256.Load(a + 32);
                    var w = Vector256.Create(q[0]).AsSByte();
                    h00 += Avx2.MultiplyAddAdjacent(a0, w);
                    h01 += Avx2.MultiplyAddAdjacent(a1, w);
                    w = Vector256.Create(q[1]).AsSByte();
                    h10 += Avx2.MultiplyAddAdjacent(a0, w);
                    h11 += Avx2.MultiplyAddAdjacent(a1, w);
                    w = Vector256.Create(q[2]).AsSByte();
                    h20 += Avx2.MultiplyAddAdjacent(a0, w);
                    h21 += Avx2.MultiplyAddAdjacent(a1, w);
                    w = Vector256.Create(q[3]).AsSByte();
                    h30 += Avx2.MultiplyAddAdjacent(a0, w);
                    h31 += Avx2.MultiplyAddAdjacent(a1, w);
                    q += 4;
                }
                s00 += Avx2.MultiplyAddAdjacent(h00, ones);
                s01 += Avx2.MultiplyAddAdjacent(h01, ones);
                s10 += Avx2.MultiplyAddAdjacent(h10, ones);
                s11 += Avx2.MultiplyAddAdjacent(h11, ones);
                s20 += Avx2.MultiplyAddAdjacent(h20, ones);
                s21 += Avx2.MultiplyAddAdjacent(h21, ones);
                s30 += Avx2.MultiplyAddAdjacent(h30, ones);
                s31 += Avx2.MultiplyAddAdjacent(h31, ones);
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
