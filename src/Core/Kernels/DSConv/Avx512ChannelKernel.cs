using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// 32 output channels × 4 pixels with AVX-512BW, vectors across channels (small maps, see <see cref="ChannelVectorPath"/>):
/// per step two 64-byte weight loads (16 rows × 4 K each), one vpbroadcastd of each pixel's activation dword,
/// 8 vpmaddubsw (u8 broadcast activations × s8 weights) and 8 vpaddw into int16 accumulators; after
/// <see cref="ChannelTileArgs.Int16Steps"/> steps one vpmaddwd with ones widens into the int32 block sums
/// (one lane per row). Epilogue per block, as <see cref="Avx512Int16Kernel"/>: C += ξ · S · float(sum − corr),
/// with ξ and corr vectors over the rows and the pixel's scale broadcast: the same sums and roundings.
/// </summary>
public static unsafe class Avx512ChannelKernel
{
    private const int StepBytes = ChannelPackedWeights.Rows * 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in ChannelTileArgs t)
    {
        var ones = Vector512.Create((short)1);
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        var q = t.Q;
        var aOff = t.AOffsets;
        byte* a0 = t.A0, a1 = t.A1, a2 = t.A2, a3 = t.A3;
        var ks = 0;
        var steps = t.StepsPerBlock;
        var chunk = t.Int16Steps;
        for (var kb = 0; kb < t.KBlocks; kb++)
        {
            Vector512<int> s00 = default, s01 = default, s10 = default, s11 = default;
            Vector512<int> s20 = default, s21 = default, s30 = default, s31 = default;
            Vector512<short> h00, h01, h10, h11, h20, h21, h30, h31;
            if (steps == 8 && chunk >= 8)
            {
                var o = aOff + ks;
                First(q, a0, a1, a2, a3, o[0], out h00, out h01, out h10, out h11, out h20, out h21, out h30, out h31);
                Step(q + StepBytes, a0, a1, a2, a3, o[1], ref h00, ref h01, ref h10, ref h11, ref h20, ref h21, ref h30, ref h31);
                Step(q + 2 * StepBytes, a0, a1, a2, a3, o[2], ref h00, ref h01, ref h10, ref h11, ref h20, ref h21, ref h30, ref h31);
                Step(q + 3 * StepBytes, a0, a1, a2, a3, o[3], ref h00, ref h01, ref h10, ref h11, ref h20, ref h21, ref h30, ref h31);
                Step(q + 4 * StepBytes, a0, a1, a2, a3, o[4], ref h00, ref h01, ref h10, ref h11, ref h20, ref h21, ref h30, ref h31);
                Step(q + 5 * StepBytes, a0, a1, a2, a3, o[5], ref h00, ref h01, ref h10, ref h11, ref h20, ref h21, ref h30, ref h31);
                Step(q + 6 * StepBytes, a0, a1, a2, a3, o[6], ref h00, ref h01, ref h10, ref h11, ref h20, ref h21, ref h30, ref h31);
                Step(q + 7 * StepBytes, a0, a1, a2, a3, o[7], ref h00, ref h01, ref h10, ref h11, ref h20, ref h21, ref h30, ref h31);
                q += 8 * StepBytes;
                ks += 8;
                s00 = Avx512BW.MultiplyAddAdjacent(h00, ones);
                s01 = Avx512BW.MultiplyAddAdjacent(h01, ones);
                s10 = Avx512BW.MultiplyAddAdjacent(h10, ones);
                s11 = Avx512BW.MultiplyAddAdjacent(h11, ones);
                s20 = Avx512BW.MultiplyAddAdjacent(h20, ones);
                s21 = Avx512BW.MultiplyAddAdjacent(h21, ones);
                s30 = Avx512BW.MultiplyAddAdjacent(h30, ones);
                s31 = Avx512BW.MultiplyAddAdjacent(h31, ones);
            }
            else
            {
                for (var done = 0; done < steps; done += chunk)
                {
                    var n = Math.Min(chunk, steps - done);
                    First(q, a0, a1, a2, a3, aOff[ks++], out h00, out h01, out h10, out h11, out h20, out h21, out h30, out h31);
                    q += StepBytes;
                    for (var i = 1; i < n; i++)
                    {
                        Step(q, a0, a1, a2, a3, aOff[ks++], ref h00, ref h01, ref h10, ref h11, ref h20, ref h21, ref h30, ref h31);
                        q += StepBytes;
                    }
                    s00 += Avx512BW.MultiplyAddAdjacent(h00, ones);
                    s01 += Avx512BW.MultiplyAddAdjacent(h01, ones);
                    s10 += Avx512BW.MultiplyAddAdjacent(h10, ones);
                    s11 += Avx512BW.MultiplyAddAdjacent(h11, ones);
                    s20 += Avx512BW.MultiplyAddAdjacent(h20, ones);
                    s21 += Avx512BW.MultiplyAddAdjacent(h21, ones);
                    s30 += Avx512BW.MultiplyAddAdjacent(h30, ones);
                    s31 += Avx512BW.MultiplyAddAdjacent(h31, ones);
                }
            }
            var xi = t.Xi + kb * ChannelPackedWeights.Rows;
            var corr = t.Correction + kb * ChannelPackedWeights.Rows;
            var xi0 = Vector512.Load(xi);
            var xi1 = Vector512.Load(xi + 16);
            var corr0 = Vector512.Load(corr);
            var corr1 = Vector512.Load(corr + 16);
            var sOff = t.SOffsets[kb];
            var sc = Vector512.Create(t.S0[sOff]);
            c00 = Epilogue(c00, s00, sc, corr0, xi0);
            c01 = Epilogue(c01, s01, sc, corr1, xi1);
            sc = Vector512.Create(t.S1[sOff]);
            c10 = Epilogue(c10, s10, sc, corr0, xi0);
            c11 = Epilogue(c11, s11, sc, corr1, xi1);
            sc = Vector512.Create(t.S2[sOff]);
            c20 = Epilogue(c20, s20, sc, corr0, xi0);
            c21 = Epilogue(c21, s21, sc, corr1, xi1);
            sc = Vector512.Create(t.S3[sOff]);
            c30 = Epilogue(c30, s30, sc, corr0, xi0);
            c31 = Epilogue(c31, s31, sc, corr1, xi1);
        }
        var c = t.C;
        c00.Store(c);
        c01.Store(c + 16);
        c10.Store(c + 32);
        c11.Store(c + 48);
        c20.Store(c + 64);
        c21.Store(c + 80);
        c30.Store(c + 96);
        c31.Store(c + 112);
    }

    /// <summary>The first step of an int16 chunk (no zeroed accumulators to add to).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void First(sbyte* q, byte* a0, byte* a1, byte* a2, byte* a3, nint off,
        out Vector512<short> h00, out Vector512<short> h01, out Vector512<short> h10, out Vector512<short> h11,
        out Vector512<short> h20, out Vector512<short> h21, out Vector512<short> h30, out Vector512<short> h31)
    {
        var w0 = Vector512.Load(q);
        var w1 = Vector512.Load(q + 64);
        var b = Vector512.Create(*(int*)(a0 + off)).AsByte();
        h00 = Avx512BW.MultiplyAddAdjacent(b, w0);
        h01 = Avx512BW.MultiplyAddAdjacent(b, w1);
        b = Vector512.Create(*(int*)(a1 + off)).AsByte();
        h10 = Avx512BW.MultiplyAddAdjacent(b, w0);
        h11 = Avx512BW.MultiplyAddAdjacent(b, w1);
        b = Vector512.Create(*(int*)(a2 + off)).AsByte();
        h20 = Avx512BW.MultiplyAddAdjacent(b, w0);
        h21 = Avx512BW.MultiplyAddAdjacent(b, w1);
        b = Vector512.Create(*(int*)(a3 + off)).AsByte();
        h30 = Avx512BW.MultiplyAddAdjacent(b, w0);
        h31 = Avx512BW.MultiplyAddAdjacent(b, w1);
    }

    /// <summary>One step of 4 K: both 16-row weight vectors against each pixel's broadcast activation dword.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(sbyte* q, byte* a0, byte* a1, byte* a2, byte* a3, nint off,
        ref Vector512<short> h00, ref Vector512<short> h01, ref Vector512<short> h10, ref Vector512<short> h11,
        ref Vector512<short> h20, ref Vector512<short> h21, ref Vector512<short> h30, ref Vector512<short> h31)
    {
        var w0 = Vector512.Load(q);
        var w1 = Vector512.Load(q + 64);
        var b = Vector512.Create(*(int*)(a0 + off)).AsByte();
        h00 += Avx512BW.MultiplyAddAdjacent(b, w0);
        h01 += Avx512BW.MultiplyAddAdjacent(b, w1);
        b = Vector512.Create(*(int*)(a1 + off)).AsByte();
        h10 += Avx512BW.MultiplyAddAdjacent(b, w0);
        h11 += Avx512BW.MultiplyAddAdjacent(b, w1);
        b = Vector512.Create(*(int*)(a2 + off)).AsByte();
        h20 += Avx512BW.MultiplyAddAdjacent(b, w0);
        h21 += Avx512BW.MultiplyAddAdjacent(b, w1);
        b = Vector512.Create(*(int*)(a3 + off)).AsByte();
        h30 += Avx512BW.MultiplyAddAdjacent(b, w0);
        h31 += Avx512BW.MultiplyAddAdjacent(b, w1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Epilogue(Vector512<float> c, Vector512<int> sum, Vector512<float> scale, Vector512<int> corr, Vector512<float> xi) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum - corr) * scale, xi, c);
}
