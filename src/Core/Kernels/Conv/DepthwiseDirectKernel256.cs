using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// The AVX2 form of <see cref="DepthwiseDirectKernel"/> for machines without AVX-512: 8 outputs of a row per
/// vector, every tap one masked load (vmaskmovps: lanes outside the input row read as zero without touching
/// memory), stride 2 as two loads whose even lanes <see cref="EvenLanes256"/> keeps.
/// </summary>
internal static unsafe class DepthwiseDirectKernel256
{
    private const int Lanes = 8;

    /// <summary>The formula of <see cref="DepthwiseDirectKernel.Plane"/>; kernel width at most <paramref name="maxKernelW"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Plane(float* x, float* w, float bias, float* y, in ConvGeometry g, FusedActivation act, int maxKernelW)
    {
        if (g.KernelH == 3 && g.KernelW == 3)
        {
            Plane3x3(x, w, bias, y, g, act);
            return;
        }
        var kw = g.KernelW;
        var masks = stackalloc Vector256<float>[2 * maxKernelW];
        var width = Vector256.Create((uint)g.Width);
        var vb = Vector256.Create(bias);
        var stride2 = g.StrideW == 2;
        // Chunks right to left: a partial chunk's full-width store spills into the next rows' first lanes, which
        // their own chunk writes later (a masked store, vmaskmovps, is microcoded on AMD); only a store that would
        // pass the plane's end is masked.
        for (var ox0 = (g.OutWidth - 1) / Lanes * Lanes; ox0 >= 0; ox0 -= Lanes)
        {
            // Which lanes of each tap column read inside the row: the same for every output row.
            for (var kx = 0; kx < kw; kx++)
            {
                var c0 = ox0 * g.StrideW - g.PadLeft + kx * g.DilationW;
                var idx = Vector256<int>.Indices * g.StrideW + Vector256.Create(c0);
                if (stride2)
                {
                    idx = Vector256<int>.Indices + Vector256.Create(c0);
                    masks[2 * kx + 1] = Vector256.LessThan((idx + Vector256.Create(Lanes)).AsUInt32(), width).AsSingle();
                }
                masks[2 * kx] = Vector256.LessThan(idx.AsUInt32(), width).AsSingle();
            }
            var outMask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(g.OutWidth - ox0)).AsSingle();
            var full = ox0 + Lanes <= g.OutWidth;
            var colBase = ox0 * g.StrideW - g.PadLeft;
            // Every tap of every lane inside the row: plain loads.
            var interior = colBase >= 0 && colBase + (kw - 1) * g.DilationW + Lanes * g.StrideW <= g.Width;
            for (var oy = 0; oy < g.OutHeight; oy++)
            {
                var acc = vb;
                for (var ky = 0; ky < g.KernelH; ky++)
                {
                    var iy = oy * g.StrideH - g.PadTop + ky * g.DilationH;
                    if ((uint)iy >= (uint)g.Height)
                    {
                        continue;
                    }
                    var row = x + (long)iy * g.Width + colBase;
                    var wr = w + ky * kw;
                    // Each row of taps is its own FMA chain, added at the end: one chain over all taps
                    // (25 for 5x5) would wait on the FMA latency at every step.
                    var rowSum = Vector256<float>.Zero;
                    for (var kx = 0; kx < kw; kx++)
                    {
                        var p = row + kx * g.DilationW;
                        Vector256<float> v;
                        if (stride2)
                        {
                            var lo = interior ? Vector256.Load(p) : Avx.MaskLoad(p, masks[2 * kx]);
                            var hi = interior ? Vector256.Load(p + Lanes) : Avx.MaskLoad(p + Lanes, masks[2 * kx + 1]);
                            v = EvenLanes256.Of(lo, hi);
                        }
                        else
                        {
                            v = interior ? Vector256.Load(p) : Avx.MaskLoad(p, masks[2 * kx]);
                        }
                        rowSum = Fma.MultiplyAdd(Vector256.Create(wr[kx]), v, rowSum);
                    }
                    acc += rowSum;
                }
                var dst = y + (long)oy * g.OutWidth + ox0;
                var result = ActivationVectors.Apply(acc, act);
                if (full || (g.OutHeight - oy) * g.OutWidth - ox0 >= Lanes)
                {
                    result.Store(dst);
                }
                else
                {
                    Avx.MaskStore(dst, outMask, result);
                }
            }
        }
    }

    /// <summary>
    /// 3×3 (the bulk of mobile networks) with the 9 weights in registers and the tap loops unrolled: interior
    /// chunks with plain loads, the chunks at the row's ends with masked ones.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Plane3x3(float* x, float* w, float bias, float* y, in ConvGeometry g, FusedActivation act)
    {
        var weights = new Weights3x3(w);
        var width = Vector256.Create((uint)g.Width);
        var stride2 = g.StrideW == 2;
        var d = g.DilationW;
        // Chunks right to left: a partial chunk's full-width store spills into the next rows' first lanes, which
        // their own chunk writes later (a masked store, vmaskmovps, is microcoded on AMD); only a store that would
        // pass the plane's end is masked.
        for (var ox0 = (g.OutWidth - 1) / Lanes * Lanes; ox0 >= 0; ox0 -= Lanes)
        {
            var colBase = ox0 * g.StrideW - g.PadLeft;
            var outMask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(g.OutWidth - ox0)).AsSingle();
            var full = ox0 + Lanes <= g.OutWidth;
            var interior = colBase >= 0 && colBase + 2 * d + Lanes * g.StrideW <= g.Width;
            var yc = y + ox0;
            if (interior)
            {
                // The rows whose three input rows all exist run the tight loop (no dilation, full chunks only).
                var (lo, hi) = full && d == 1 && g.DilationH == 1 ? InsideRows(g) : (0, 0);
                if (stride2)
                {
                    Chunk(x, yc, colBase, g, weights, bias, act, outMask, full, new Stride2Taps(), 0, lo);
                    DepthwiseRows3x3Avx2.Run(x + colBase, g.Width, g.StrideH, 2, g.PadTop, w, bias, yc, g.OutWidth, lo, hi, act);
                    Chunk(x, yc, colBase, g, weights, bias, act, outMask, full, new Stride2Taps(), hi, g.OutHeight);
                }
                else
                {
                    Chunk(x, yc, colBase, g, weights, bias, act, outMask, full, new PlainTaps(), 0, lo);
                    DepthwiseRows3x3Avx2.Run(x + colBase, g.Width, g.StrideH, g.StrideW, g.PadTop, w, bias, yc, g.OutWidth, lo, hi, act);
                    Chunk(x, yc, colBase, g, weights, bias, act, outMask, full, new PlainTaps(), hi, g.OutHeight);
                }
                continue;
            }
            var lanes = stride2 ? Vector256<int>.Indices : Vector256<int>.Indices * g.StrideW;
            var m0 = Vector256.LessThan((lanes + Vector256.Create(colBase)).AsUInt32(), width).AsSingle();
            var m1 = Vector256.LessThan((lanes + Vector256.Create(colBase + d)).AsUInt32(), width).AsSingle();
            var m2 = Vector256.LessThan((lanes + Vector256.Create(colBase + 2 * d)).AsUInt32(), width).AsSingle();
            if (stride2)
            {
                var eight = Vector256.Create(Lanes);
                var h0 = Vector256.LessThan((lanes + eight + Vector256.Create(colBase)).AsUInt32(), width).AsSingle();
                var h1 = Vector256.LessThan((lanes + eight + Vector256.Create(colBase + d)).AsUInt32(), width).AsSingle();
                var h2 = Vector256.LessThan((lanes + eight + Vector256.Create(colBase + 2 * d)).AsUInt32(), width).AsSingle();
                Chunk(x, yc, colBase, g, weights, bias, act, outMask, full, new MaskedStride2Taps(m0, m1, m2, h0, h1, h2), 0, g.OutHeight);
            }
            else
            {
                Chunk(x, yc, colBase, g, weights, bias, act, outMask, full, new MaskedTaps(m0, m1, m2), 0, g.OutHeight);
            }
        }
    }

    /// <summary>Output rows [lo, hi) whose three input rows all lie inside the input (lo = hi when there are none).</summary>
    private static (int Lo, int Hi) InsideRows(in ConvGeometry g)
    {
        var lo = (g.PadTop + g.StrideH - 1) / g.StrideH;
        var last = g.Height - 3 + g.PadTop;
        var hi = last < 0 ? 0 : Math.Min(g.OutHeight, last / g.StrideH + 1);
        return lo < hi ? (lo, hi) : (0, 0);
    }

    /// <summary>One 8-output column chunk of output rows [oy0, oy1); <typeparamref name="TTaps"/> loads tap kx of a row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Chunk<TTaps>(float* x, float* y, int colBase, in ConvGeometry g, in Weights3x3 w, float bias, FusedActivation act,
        Vector256<float> outMask, bool full, TTaps taps, int oy0, int oy1)
        where TTaps : struct, ITaps
    {
        var vb = Vector256.Create(bias);
        var d = g.DilationW;
        var ox0 = (colBase + g.PadLeft) / g.StrideW;
        for (var oy = oy0; oy < oy1; oy++)
        {
            var iy = oy * g.StrideH - g.PadTop;
            var acc = vb;
            // Three rows of taps, the middle and bottom ones into their own accumulators (independent FMA chains).
            var acc1 = Vector256<float>.Zero;
            var acc2 = Vector256<float>.Zero;
            if ((uint)iy < (uint)g.Height)
            {
                var r = x + (long)iy * g.Width + colBase;
                acc = Fma.MultiplyAdd(w.W0, taps.Load(r, 0), acc);
                acc = Fma.MultiplyAdd(w.W1, taps.Load(r + d, 1), acc);
                acc = Fma.MultiplyAdd(w.W2, taps.Load(r + 2 * d, 2), acc);
            }
            iy += g.DilationH;
            if ((uint)iy < (uint)g.Height)
            {
                var r = x + (long)iy * g.Width + colBase;
                acc1 = Avx.Multiply(w.W3, taps.Load(r, 0));
                acc1 = Fma.MultiplyAdd(w.W4, taps.Load(r + d, 1), acc1);
                acc1 = Fma.MultiplyAdd(w.W5, taps.Load(r + 2 * d, 2), acc1);
            }
            iy += g.DilationH;
            if ((uint)iy < (uint)g.Height)
            {
                var r = x + (long)iy * g.Width + colBase;
                acc2 = Avx.Multiply(w.W6, taps.Load(r, 0));
                acc2 = Fma.MultiplyAdd(w.W7, taps.Load(r + d, 1), acc2);
                acc2 = Fma.MultiplyAdd(w.W8, taps.Load(r + 2 * d, 2), acc2);
            }
            var result = ActivationVectors.Apply(acc + acc1 + acc2, act);
            var dst = y + (long)oy * g.OutWidth;
            if (full || (g.OutHeight - oy) * g.OutWidth - ox0 >= Lanes)
            {
                result.Store(dst);
            }
            else
            {
                Avx.MaskStore(dst, outMask, result);
            }
        }
    }

    private readonly struct Weights3x3(float* w)
    {
        public readonly Vector256<float> W0 = Vector256.Create(w[0]), W1 = Vector256.Create(w[1]), W2 = Vector256.Create(w[2]);
        public readonly Vector256<float> W3 = Vector256.Create(w[3]), W4 = Vector256.Create(w[4]), W5 = Vector256.Create(w[5]);
        public readonly Vector256<float> W6 = Vector256.Create(w[6]), W7 = Vector256.Create(w[7]), W8 = Vector256.Create(w[8]);
    }

    /// <summary>Loads the 8 inputs of tap column kx (0..2) for 8 outputs, starting at p.</summary>
    private interface ITaps
    {
        Vector256<float> Load(float* p, int kx);
    }

    private readonly struct PlainTaps : ITaps
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Load(float* p, int kx) => Vector256.Load(p);
    }

    private readonly struct Stride2Taps : ITaps
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Load(float* p, int kx) => EvenLanes256.Of(Vector256.Load(p), Vector256.Load(p + Lanes));
    }

    private readonly struct MaskedTaps(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2) : ITaps
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Load(float* p, int kx) => Avx.MaskLoad(p, kx == 0 ? m0 : kx == 1 ? m1 : m2);
    }

    private readonly struct MaskedStride2Taps(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2,
        Vector256<float> h0, Vector256<float> h1, Vector256<float> h2) : ITaps
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Load(float* p, int kx) =>
            EvenLanes256.Of(Avx.MaskLoad(p, kx == 0 ? m0 : kx == 1 ? m1 : m2), Avx.MaskLoad(p + Lanes, kx == 0 ? h0 : kx == 1 ? h1 : h2));
    }
}
