using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Pooling;

/// <summary>
/// Max pooling with 3×3 windows, stride 2, dilation 1 and at most one padded row/column at the top/left: the
/// pooling after most CNN stems (ResNet's 64×112×112). The general separable path spends more on its
/// bookkeeping than on this window; here each output row is one vertical max of up to three input rows into a
/// row buffer (column −1 and everything past the last column hold float.MinValue, so padding never wins), then
/// 16 outputs at a time: the even and odd columns of two 32-float windows (vpermt2ps) and two maxes. Without
/// AVX-512, 8 outputs at a time with AVX2 (vshufps picks even and odd columns per 128-bit lane, one vpermpd
/// puts the lanes in order after the maxes).
/// </summary>
internal static unsafe class MaxPool3x3Stride2
{
    public static bool Applies(in PoolWindow g) =>
        (Avx512F.IsSupported || Avx2.IsSupported) && g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 2 && g.StrideW == 2
        && g.DilationH == 1 && g.DilationW == 1 && g.PadTop is 0 or 1 && g.PadLeft is 0 or 1;

    /// <summary>Floats of the row buffer: column −1, the row, and what the last 16-output block reads past it.</summary>
    public static int BufferLength(in PoolWindow g) => Math.Max(g.InputW + 1, 2 * RoundUp16(g.OutputW) + 3);

    public static void Plane(float* x, float* y, in PoolWindow g, float* buffer)
    {
        var w = g.InputW;
        new Span<float>(buffer, BufferLength(g)).Fill(float.MinValue);
        var row = buffer + 1;
        // Buffer index of the first tap of output column 0: input column −PadLeft.
        var start = buffer + 1 - g.PadLeft;
        for (var oy = 0; oy < g.OutputH; oy++)
        {
            // The window's rows inside the plane (inline: a call per row here was a tier-0 call in short runs).
            var h0 = oy * 2 - g.PadTop;
            var first = Math.Max(-h0, 0);
            var count = Math.Max(0, Math.Min(3, g.InputH - h0) - first);
            var yr = y + (long)oy * g.OutputW;
            if (count == 0)
            {
                new Span<float>(yr, g.OutputW).Fill(float.MinValue);
                continue;
            }
            var top = x + (long)(oy * 2 - g.PadTop + first) * w;
            if (Avx512F.IsSupported)
            {
                VerticalMax(top, w, count, row);
                Horizontal(start, yr, g.OutputW);
            }
            else
            {
                VerticalMax256(top, w, count, row);
                Horizontal256(start, yr, g.OutputW);
            }
        }
    }

    /// <summary>row[c] = max over the <paramref name="count"/> rows from <paramref name="top"/> of column c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerticalMax(float* top, int w, int count, float* row)
    {
        var c = 0;
        if (count == 3)
        {
            // Every row but the plane's edges: plain loads and stores; masks only for the row's last columns.
            for (; c + 16 <= w; c += 16)
            {
                Vector512.MaxNative(Vector512.MaxNative(Vector512.Load(top + c), Vector512.Load(top + w + c)), Vector512.Load(top + 2L * w + c))
                    .Store(row + c);
            }
        }
        for (; c < w; c += 16)
        {
            var left = w - c;
            var mask = left >= 16 ? Vector512<float>.AllBitsSet : Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(left)).AsSingle();
            var m = Avx512F.MaskLoad(top + c, mask, Vector512<float>.Zero);
            for (var r = 1; r < count; r++)
            {
                m = Vector512.MaxNative(m, Avx512F.MaskLoad(top + (long)r * w + c, mask, Vector512<float>.Zero));
            }
            Avx512F.MaskStore(row + c, mask, m);
        }
    }

    /// <summary>y[ox] = max(s[2ox], s[2ox+1], s[2ox+2]) for ox in [0, n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Horizontal(float* s, float* y, int n)
    {
        // Constants made here, not static readonly fields: in a method jitted fully optimised before the class is
        // initialised, a static field costs a class-init check per iteration and spills the loop's vectors (3x slower).
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        for (var ox = 0; ox < n; ox += 16)
        {
            var p = s + 2 * ox;
            var a = Vector512.Load(p);
            var b = Vector512.Load(p + 16);
            var c = Vector512.Load(p + 2);
            var d = Vector512.Load(p + 18);
            // vmaxps, as the general path (MaxReduction).
            var m = Vector512.MaxNative(Vector512.MaxNative(Avx512F.PermuteVar16x32x2(a, even, b), Avx512F.PermuteVar16x32x2(a, odd, b)),
                Avx512F.PermuteVar16x32x2(c, even, d));
            var left = n - ox;
            if (left >= 16)
            {
                m.Store(y + ox);
            }
            else
            {
                Avx512F.MaskStore(y + ox, Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(left)).AsSingle(), m);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VerticalMax256(float* top, int w, int count, float* row)
    {
        if (w < 8)
        {
            var mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(w)).AsSingle();
            var t = Avx.MaskLoad(top, mask);
            for (var r = 1; r < count; r++)
            {
                t = Avx.Max(t, Avx.MaskLoad(top + (long)r * w, mask));
            }
            Avx.MaskStore(row, mask, t);
            return;
        }
        // Plain loads and stores, the last vector overlapping the one before (row is not an input): masked stores
        // (vmaskmovps) are microcoded on AMD and cost more than the rest of the loop.
        for (var c = 0; ; c += 8)
        {
            c = Math.Min(c, w - 8);
            var m = Vector256.Load(top + c);
            for (var r = 1; r < count; r++)
            {
                m = Avx.Max(m, Vector256.Load(top + (long)r * w + c));
            }
            m.Store(row + c);
            if (c == w - 8)
            {
                return;
            }
        }
    }

    private static void Horizontal256Block(float* s, float* y, int ox)
    {
        var p = s + 2 * ox;
        var m = Avx.Max(Avx.Max(Avx.Shuffle(Vector256.Load(p), Vector256.Load(p + 8), 0x88), Avx.Shuffle(Vector256.Load(p), Vector256.Load(p + 8), 0xDD)),
            Avx.Shuffle(Vector256.Load(p + 2), Vector256.Load(p + 10), 0x88));
        Avx2.Permute4x64(m.AsDouble(), 0xD8).AsSingle().Store(y + ox);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Horizontal256(float* s, float* y, int n)
    {
        for (var ox = 0; ox < n; ox += 8)
        {
            var p = s + 2 * ox;
            var a = Vector256.Load(p);
            var b = Vector256.Load(p + 8);
            var c = Vector256.Load(p + 2);
            var d = Vector256.Load(p + 10);
            // Per 128-bit lane: even (0x88) and odd (0xDD) columns of a then b; the same lane order for all three.
            var m = Avx.Max(Avx.Max(Avx.Shuffle(a, b, 0x88), Avx.Shuffle(a, b, 0xDD)), Avx.Shuffle(c, d, 0x88));
            m = Avx2.Permute4x64(m.AsDouble(), 0xD8).AsSingle();
            var left = n - ox;
            if (left >= 8)
            {
                m.Store(y + ox);
            }
            else if (n >= 8)
            {
                // The row's last outputs again as a full vector ending at its end (the same values where it overlaps).
                Horizontal256Block(s, y, n - 8);
            }
            else
            {
                Avx.MaskStore(y + ox, Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(left)).AsSingle(), m);
            }
        }
    }

    private static int RoundUp16(int v) => (v + 15) / 16 * 16;
}
