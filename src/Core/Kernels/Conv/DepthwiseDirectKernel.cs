using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// Depthwise convolution of one plane straight from the input, with no padded copy: 16 outputs of a row
/// per vector, every tap one masked load (lanes outside the input row read as zero, and masked-off lanes
/// never touch memory), stride 2 as two loads whose even lanes one permute keeps. Rows of taps outside
/// the input are skipped. The copy of <see cref="DepthwisePlaneLayout"/> cost more than the arithmetic on
/// the small maps and stride-2 layers of mobile networks. Without AVX-512 the same loops run 8 lanes wide
/// (<see cref="DepthwiseDirectKernel256"/>).
/// </summary>
internal static unsafe class DepthwiseDirectKernel
{
    /// <summary>Widest kernel whose per-tap column masks are kept on the stack.</summary>
    private const int MaxKernelW = 16;

    /// <summary>Whether this kernel can run the convolution on this CPU.</summary>
    public static bool Supports(in ConvGeometry g) =>
        (Avx512F.IsSupported && Vector512.IsHardwareAccelerated || Avx2.IsSupported && Fma.IsSupported) && g.StrideW is 1 or 2 && g.KernelW <= MaxKernelW;

    /// <summary>
    /// Whether it is the faster path (`bench depthwise`, both paths in interleaved rounds). AVX-512 (Zen 4): stride 2,
    /// and rows of at most 32 outputs, 1.4–2.4x the padded copy there; at stride 1 on 56- and 112-wide maps the copy's
    /// 3×3 register kernel stays 1.4–1.7x faster. AVX2 (Zen 3): every 3×3 layer, since its interior rows run a tight
    /// loop (<see cref="DepthwiseRows3x3Avx2"/>: 32x112x112 0.235 ms against the copy's 0.251, 144x56x56 0.31 against
    /// 0.34, stride 2 about 2x); 5x5 runs 1.5–3.4x faster on the copy's multi-vector rows, whose loads need no masks,
    /// except on rows of at most 8 outputs, where the direct kernel is 1.6–2.3x faster.
    /// </summary>
    public static bool Applies(in ConvGeometry g) =>
        Supports(g) && (Avx512F.IsSupported && Vector512.IsHardwareAccelerated
            ? g.StrideW == 2 || g.OutWidth <= 32
            : g.KernelH == 3 && g.KernelW == 3 || g.OutWidth <= 8);

    /// <summary>
    /// y[oy·ow + ox] = act(bias + Σ w[ky·kw + kx] · x[iy·W + ix]) with iy = oy·sh − padT + ky·dh and
    /// ix = ox·sw − padL + kx·dw, terms outside the input plane being zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Plane(float* x, float* w, float bias, float* y, in ConvGeometry g, FusedActivation act)
    {
        if (!Avx512F.IsSupported)
        {
            DepthwiseDirectKernel256.Plane(x, w, bias, y, g, act, MaxKernelW);
            return;
        }
        var kw = g.KernelW;
        var masks = stackalloc Vector512<float>[2 * MaxKernelW];
        var width = Vector512.Create((uint)g.Width);
        var vb = Vector512.Create(bias);
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var stride2 = g.StrideW == 2;
        for (var ox0 = 0; ox0 < g.OutWidth; ox0 += 16)
        {
            // Which lanes of each tap column read inside the row: the same for every output row.
            for (var kx = 0; kx < kw; kx++)
            {
                var c0 = ox0 * g.StrideW - g.PadLeft + kx * g.DilationW;
                var idx = Vector512<int>.Indices * g.StrideW + Vector512.Create(c0);
                if (stride2)
                {
                    idx = Vector512<int>.Indices + Vector512.Create(c0);
                    masks[2 * kx + 1] = Vector512.LessThan((idx + Vector512.Create(16)).AsUInt32(), width).AsSingle();
                }
                masks[2 * kx] = Vector512.LessThan(idx.AsUInt32(), width).AsSingle();
            }
            var outMask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(g.OutWidth - ox0)).AsSingle();
            var colBase = ox0 * g.StrideW - g.PadLeft;
            // Every tap of every lane inside the row: plain loads (no mask to move into a mask register per load).
            var interior = colBase >= 0 && colBase + (kw - 1) * g.DilationW + 16 * g.StrideW <= g.Width;
            if (interior)
            {
                if (g.KernelH == 3 && g.KernelW == 3 && g.StrideW == 1)
                {
                    InteriorChunk3x3(x, w, vb, y + ox0, colBase, g, act, outMask, ox0 + 16 <= g.OutWidth);
                }
                else
                {
                    InteriorChunk(x, w, vb, y + ox0, colBase, g, act, outMask, ox0 + 16 <= g.OutWidth);
                }
                continue;
            }
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
                    if (stride2)
                    {
                        for (var kx = 0; kx < kw; kx++)
                        {
                            var p = row + kx * g.DilationW;
                            var lo = Avx512F.MaskLoad(p, masks[2 * kx], Vector512<float>.Zero);
                            var hi = Avx512F.MaskLoad(p + 16, masks[2 * kx + 1], Vector512<float>.Zero);
                            acc = Avx512F.FusedMultiplyAdd(Vector512.Create(wr[kx]), Avx512F.PermuteVar16x32x2(lo, even, hi), acc);
                        }
                    }
                    else
                    {
                        for (var kx = 0; kx < kw; kx++)
                        {
                            var v = Avx512F.MaskLoad(row + kx * g.DilationW, masks[2 * kx], Vector512<float>.Zero);
                            acc = Avx512F.FusedMultiplyAdd(Vector512.Create(wr[kx]), v, acc);
                        }
                    }
                }
                Avx512F.MaskStore(y + (long)oy * g.OutWidth + ox0, outMask, ActivationVectors.Apply(acc, act));
            }
        }
    }

    /// <summary>One 16-output column chunk whose taps all lie inside the input rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InteriorChunk(float* x, float* w, Vector512<float> vb, float* y, int colBase, in ConvGeometry g, FusedActivation act, Vector512<float> outMask, bool full)
    {
        var kw = g.KernelW;
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
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
                if (g.StrideW == 2)
                {
                    for (var kx = 0; kx < kw; kx++)
                    {
                        var p = row + kx * g.DilationW;
                        acc = Avx512F.FusedMultiplyAdd(Vector512.Create(wr[kx]), Avx512F.PermuteVar16x32x2(Vector512.Load(p), even, Vector512.Load(p + 16)), acc);
                    }
                }
                else
                {
                    for (var kx = 0; kx < kw; kx++)
                    {
                        acc = Avx512F.FusedMultiplyAdd(Vector512.Create(wr[kx]), Vector512.Load(row + kx * g.DilationW), acc);
                    }
                }
            }
            Store(y + (long)oy * g.OutWidth, outMask, ActivationVectors.Apply(acc, act), full);
        }
    }

    /// <summary><see cref="InteriorChunk"/> for 3×3 at stride 1 (the bulk of mobile networks), the 9 weights held in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InteriorChunk3x3(float* x, float* w, Vector512<float> vb, float* y, int colBase, in ConvGeometry g, FusedActivation act, Vector512<float> outMask, bool full)
    {
        var w0 = Vector512.Create(w[0]);
        var w1 = Vector512.Create(w[1]);
        var w2 = Vector512.Create(w[2]);
        var w3 = Vector512.Create(w[3]);
        var w4 = Vector512.Create(w[4]);
        var w5 = Vector512.Create(w[5]);
        var w6 = Vector512.Create(w[6]);
        var w7 = Vector512.Create(w[7]);
        var w8 = Vector512.Create(w[8]);
        var d = g.DilationW;
        var width = g.Width;
        for (var oy = 0; oy < g.OutHeight; oy++)
        {
            var iy = oy * g.StrideH - g.PadTop;
            var acc0 = vb;
            var acc1 = Vector512<float>.Zero;
            var acc2 = Vector512<float>.Zero;
            // Three rows of taps, each into its own accumulator (three independent FMA chains).
            if ((uint)iy < (uint)g.Height)
            {
                var r = x + (long)iy * width + colBase;
                acc0 = Avx512F.FusedMultiplyAdd(w0, Vector512.Load(r), acc0);
                acc0 = Avx512F.FusedMultiplyAdd(w1, Vector512.Load(r + d), acc0);
                acc0 = Avx512F.FusedMultiplyAdd(w2, Vector512.Load(r + 2 * d), acc0);
            }
            iy += g.DilationH;
            if ((uint)iy < (uint)g.Height)
            {
                var r = x + (long)iy * width + colBase;
                acc1 = Avx512F.Multiply(w3, Vector512.Load(r));
                acc1 = Avx512F.FusedMultiplyAdd(w4, Vector512.Load(r + d), acc1);
                acc1 = Avx512F.FusedMultiplyAdd(w5, Vector512.Load(r + 2 * d), acc1);
            }
            iy += g.DilationH;
            if ((uint)iy < (uint)g.Height)
            {
                var r = x + (long)iy * width + colBase;
                acc2 = Avx512F.Multiply(w6, Vector512.Load(r));
                acc2 = Avx512F.FusedMultiplyAdd(w7, Vector512.Load(r + d), acc2);
                acc2 = Avx512F.FusedMultiplyAdd(w8, Vector512.Load(r + 2 * d), acc2);
            }
            Store(y + (long)oy * g.OutWidth, outMask, ActivationVectors.Apply(acc0 + acc1 + acc2, act), full);
        }
    }

    /// <summary>A plain store for a full chunk (masked stores are slower on Zen 4), a masked one at the row's end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* y, Vector512<float> mask, Vector512<float> v, bool full)
    {
        if (full)
        {
            v.Store(y);
        }
        else
        {
            Avx512F.MaskStore(y, mask, v);
        }
    }
}
