using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// 4 rows × 32 pixels (two halves of 16) with 256-bit vpdpbusd: each step adds u8·s8 quads straight into
/// int32 block sums, so it is exact for every weight and mantissa width (the kernel for 8-bit weights).
/// </summary>
public static unsafe class AvxVnniKernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in TileArgs t)
    {
        Half(t, 0);
        Half(t, 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Half(in TileArgs t, int p0)
    {
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
                s00 = AvxVnni.MultiplyWideningAndAdd(s00, a0, w);
                s01 = AvxVnni.MultiplyWideningAndAdd(s01, a1, w);
                w = Vector256.Create(q[1]).AsSByte();
                s10 = AvxVnni.MultiplyWideningAndAdd(s10, a0, w);
                s11 = AvxVnni.MultiplyWideningAndAdd(s11, a1, w);
                w = Vector256.Create(q[2]).AsSByte();
                s20 = AvxVnni.MultiplyWideningAndAdd(s20, a0, w);
                s21 = AvxVnni.MultiplyWideningAndAdd(s21, a1, w);
                w = Vector256.Create(q[3]).AsSByte();
                s30 = AvxVnni.MultiplyWideningAndAdd(s30, a0, w);
                s31 = AvxVnni.MultiplyWideningAndAdd(s31, a1, w);
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
        var c = t.C + p0;
        c00.Store(c);
        c01.Store(c + 8);
        c10.Store(c + 32);
        c11.Store(c + 40);
        c20.Store(c + 64);
        c21.Store(c + 72);
        c30.Store(c + 96);
        c31.Store(c + 104);
    }
}
