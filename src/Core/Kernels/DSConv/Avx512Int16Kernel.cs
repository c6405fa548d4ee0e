using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// 4 rows × 32 pixels with AVX-512BW: per step one vpmaddubsw (u8 activations × broadcast s8 weight dword)
/// and one vpaddw into int16 accumulators; after <see cref="TileArgs.Int16Steps"/> steps (a whole 32-channel
/// block for 4-bit weights) one vpmaddwd with ones widens into the int32 block sum. Exact while
/// Int16Steps · 2·(2^M−1)·2^(b−1) ≤ 32767. Epilogue per block: C += ξ · S · float(sum − corr).
/// </summary>
public static unsafe class Avx512Int16Kernel
{
    /// <summary>C into <see cref="TileArgs.C"/>.</summary>
    public static void Run(in TileArgs t)
    {
        var sink = new BufferSink(t.C);
        Run(t, ref sink);
    }

    /// <summary>C handed to <paramref name="sink"/> from registers (e.g. <see cref="PlaneSink"/>: straight into y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TSink>(in TileArgs t, ref TSink sink)
        where TSink : struct, ITileSink
    {
        var ones = Vector512.Create((short)1);
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        var q = (int*)t.Q;
        var aOff = t.AOffsets;
        var ks = 0;
        var steps = t.StepsPerBlock;
        var chunk = t.Int16Steps;
        for (var kb = 0; kb < t.KBlocks; kb++)
        {
            Vector512<int> s00 = default, s01 = default, s10 = default, s11 = default;
            Vector512<int> s20 = default, s21 = default, s30 = default, s31 = default;
            Vector512<short> h00, h01, h10, h11, h20, h21, h30, h31;
            Vector512<byte> a0, a1;
            Vector512<sbyte> w;
            byte* a;
            if (steps == 8 && chunk >= 8)
            {
                var o = aOff + kb * 8;
                a = t.A + o[0];
                a0 = Vector512.Load(a);
                a1 = Vector512.Load(a + 64);
                w = Vector512.Create(q[0]).AsSByte();
                h00 = Avx512BW.MultiplyAddAdjacent(a0, w);
                h01 = Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[1]).AsSByte();
                h10 = Avx512BW.MultiplyAddAdjacent(a0, w);
                h11 = Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[2]).AsSByte();
                h20 = Avx512BW.MultiplyAddAdjacent(a0, w);
                h21 = Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[3]).AsSByte();
                h30 = Avx512BW.MultiplyAddAdjacent(a0, w);
                h31 = Avx512BW.MultiplyAddAdjacent(a1, w);
                a = t.A + o[1];
                a0 = Vector512.Load(a);
                a1 = Vector512.Load(a + 64);
                w = Vector512.Create(q[4]).AsSByte();
                h00 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h01 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[5]).AsSByte();
                h10 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h11 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[6]).AsSByte();
                h20 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h21 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[7]).AsSByte();
                h30 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h31 += Avx512BW.MultiplyAddAdjacent(a1, w);
                a = t.A + o[2];
                a0 = Vector512.Load(a);
                a1 = Vector512.Load(a + 64);
                w = Vector512.Create(q[8]).AsSByte();
                h00 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h01 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[9]).AsSByte();
                h10 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h11 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[10]).AsSByte();
                h20 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h21 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[11]).AsSByte();
                h30 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h31 += Avx512BW.MultiplyAddAdjacent(a1, w);
                a = t.A + o[3];
                a0 = Vector512.Load(a);
                a1 = Vector512.Load(a + 64);
                w = Vector512.Create(q[12]).AsSByte();
                h00 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h01 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[13]).AsSByte();
                h10 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h11 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[14]).AsSByte();
                h20 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h21 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[15]).AsSByte();
                h30 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h31 += Avx512BW.MultiplyAddAdjacent(a1, w);
                a = t.A + o[4];
                a0 = Vector512.Load(a);
                a1 = Vector512.Load(a + 64);
                w = Vector512.Create(q[16]).AsSByte();
                h00 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h01 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[17]).AsSByte();
                h10 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h11 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[18]).AsSByte();
                h20 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h21 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[19]).AsSByte();
                h30 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h31 += Avx512BW.MultiplyAddAdjacent(a1, w);
                a = t.A + o[5];
                a0 = Vector512.Load(a);
                a1 = Vector512.Load(a + 64);
                w = Vector512.Create(q[20]).AsSByte();
                h00 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h01 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[21]).AsSByte();
                h10 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h11 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[22]).AsSByte();
                h20 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h21 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[23]).AsSByte();
                h30 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h31 += Avx512BW.MultiplyAddAdjacent(a1, w);
                a = t.A + o[6];
                a0 = Vector512.Load(a);
                a1 = Vector512.Load(a + 64);
                w = Vector512.Create(q[24]).AsSByte();
                h00 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h01 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[25]).AsSByte();
                h10 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h11 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[26]).AsSByte();
                h20 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h21 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[27]).AsSByte();
                h30 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h31 += Avx512BW.MultiplyAddAdjacent(a1, w);
                a = t.A + o[7];
                a0 = Vector512.Load(a);
                a1 = Vector512.Load(a + 64);
                w = Vector512.Create(q[28]).AsSByte();
                h00 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h01 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[29]).AsSByte();
                h10 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h11 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[30]).AsSByte();
                h20 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h21 += Avx512BW.MultiplyAddAdjacent(a1, w);
                w = Vector512.Create(q[31]).AsSByte();
                h30 += Avx512BW.MultiplyAddAdjacent(a0, w);
                h31 += Avx512BW.MultiplyAddAdjacent(a1, w);
                q += 32;
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
                    a = t.A + aOff[ks++];
                    a0 = Vector512.Load(a);
                    a1 = Vector512.Load(a + 64);
                    h00 = Avx512BW.MultiplyAddAdjacent(a0, Vector512.Create(q[0]).AsSByte());
                    h01 = Avx512BW.MultiplyAddAdjacent(a1, Vector512.Create(q[0]).AsSByte());
                    h10 = Avx512BW.MultiplyAddAdjacent(a0, Vector512.Create(q[1]).AsSByte());
                    h11 = Avx512BW.MultiplyAddAdjacent(a1, Vector512.Create(q[1]).AsSByte());
                    h20 = Avx512BW.MultiplyAddAdjacent(a0, Vector512.Create(q[2]).AsSByte());
                    h21 = Avx512BW.MultiplyAddAdjacent(a1, Vector512.Create(q[2]).AsSByte());
                    h30 = Avx512BW.MultiplyAddAdjacent(a0, Vector512.Create(q[3]).AsSByte());
                    h31 = Avx512BW.MultiplyAddAdjacent(a1, Vector512.Create(q[3]).AsSByte());
                    q += 4;
                    for (var i = 1; i < n; i++)
                    {
                        a = t.A + aOff[ks++];
                        a0 = Vector512.Load(a);
                        a1 = Vector512.Load(a + 64);
                        w = Vector512.Create(q[0]).AsSByte();
                        h00 += Avx512BW.MultiplyAddAdjacent(a0, w);
                        h01 += Avx512BW.MultiplyAddAdjacent(a1, w);
                        w = Vector512.Create(q[1]).AsSByte();
                        h10 += Avx512BW.MultiplyAddAdjacent(a0, w);
                        h11 += Avx512BW.MultiplyAddAdjacent(a1, w);
                        w = Vector512.Create(q[2]).AsSByte();
                        h20 += Avx512BW.MultiplyAddAdjacent(a0, w);
                        h21 += Avx512BW.MultiplyAddAdjacent(a1, w);
                        w = Vector512.Create(q[3]).AsSByte();
                        h30 += Avx512BW.MultiplyAddAdjacent(a0, w);
                        h31 += Avx512BW.MultiplyAddAdjacent(a1, w);
                        q += 4;
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
            var s = t.S + t.SOffsets[kb];
            var sc0 = Vector512.Load(s);
            var sc1 = Vector512.Load(s + 16);
            var xi = t.Xi + kb * 4;
            var corr = t.Correction + kb * 4;
            c00 = Epilogue(c00, s00, sc0, corr[0], xi[0]);
            c01 = Epilogue(c01, s01, sc1, corr[0], xi[0]);
            c10 = Epilogue(c10, s10, sc0, corr[1], xi[1]);
            c11 = Epilogue(c11, s11, sc1, corr[1], xi[1]);
            c20 = Epilogue(c20, s20, sc0, corr[2], xi[2]);
            c21 = Epilogue(c21, s21, sc1, corr[2], xi[2]);
            c30 = Epilogue(c30, s30, sc0, corr[3], xi[3]);
            c31 = Epilogue(c31, s31, sc1, corr[3], xi[3]);
        }
        sink.Store(c00, c01, c10, c11, c20, c21, c30, c31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Epilogue(Vector512<float> c, Vector512<int> sum, Vector512<float> scale, int corr, float xi) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum - Vector512.Create(corr)) * scale, Vector512.Create(xi), c);
}
