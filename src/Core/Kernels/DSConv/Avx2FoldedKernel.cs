using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// <see cref="Avx2Kernel"/> for layers whose whole block fits the int16 accumulator once the activation offset is
/// taken out (<see cref="DSConvIsaSupport.UsesFoldedCorrection"/>; 4-bit weights, 8-bit mantissas, blocks up to
/// 60 channels). Each block's int16 accumulators start at −offset·Σq of their lane pair
/// (<see cref="PackedWeights.CorrectionPairs"/>) instead of zero, so one vpmaddwd with ones gives Σ m·q exactly:
/// no int32 chunk sums, no correction subtract. The int16 adds wrap, which is harmless because only the final
/// lane value (|Σ m·q| ≤ 32767) must be representable. The steps of a block are <see cref="TileArgs.AStride"/>
/// bytes apart, so the activations are reached by a pointer increment instead of a load from the offset table.
/// Same C as <see cref="ScalarKernel"/>.
/// </summary>
public static unsafe class Avx2FoldedKernel
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
        var sOff = t.SOffsets;
        var pairs = t.CorrectionPairs;
        var xi = t.Xi;
        var steps = t.StepsPerBlock;
        var stride = t.AStride;
        var abase = t.A + 4 * p0;
        var sbase = t.S + p0;
        for (var kb = 0; kb < t.KBlocks; kb++)
        {
            var h00 = Vector256.Create(pairs[0]).AsInt16();
            var h10 = Vector256.Create(pairs[1]).AsInt16();
            var h20 = Vector256.Create(pairs[2]).AsInt16();
            var h30 = Vector256.Create(pairs[3]).AsInt16();
            var h01 = h00;
            var h11 = h10;
            var h21 = h20;
            var h31 = h30;
            pairs += PackedWeights.Rows;
            var a = abase + *aOff;
            aOff += steps;
            for (var i = 0; i < steps; i++, a += stride)
            {
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
            var s = sbase + sOff[kb];
            var sc0 = Vector256.Load(s);
            var sc1 = Vector256.Load(s + 8);
            c00 = Apply(c00, h00, ones, sc0, xi[0]);
            c01 = Apply(c01, h01, ones, sc1, xi[0]);
            c10 = Apply(c10, h10, ones, sc0, xi[1]);
            c11 = Apply(c11, h11, ones, sc1, xi[1]);
            c20 = Apply(c20, h20, ones, sc0, xi[2]);
            c21 = Apply(c21, h21, ones, sc1, xi[2]);
            c30 = Apply(c30, h30, ones, sc0, xi[3]);
            c31 = Apply(c31, h31, ones, sc1, xi[3]);
            xi += PackedWeights.Rows;
        }
        sink.Store(p0, c00, c01, c10, c11, c20, c21, c30, c31);
    }

    // c + ξ · S · Σ m·q, in the order of BlockEpilogue256 (the integer sum is the same, so the float result is too).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Apply(Vector256<float> c, Vector256<short> h, Vector256<short> ones, Vector256<float> scale, float xi) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(h, ones)) * scale, Vector256.Create(xi), c);
}
