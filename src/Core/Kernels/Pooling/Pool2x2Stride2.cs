using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Pooling;

/// <summary>
/// Pooling with 2×2 windows, stride 2, no dilation and every window inside the plane (no leading pad, floor
/// sizes): LeNet's and VGG's max pooling, DenseNet's average pooling between blocks. The separable path's two
/// generic passes and row buffer cost about 1 µs per 14×14 plane; here each output row reads its two input rows
/// once: 8 outputs from two 16-float windows (vertical reduction, then vshufps picks the even and odd columns per
/// 128-bit lane and one vpermpd puts the lanes in order). Same numbers as the separable path: rows first
/// (top + bottom), then columns (left + right), for the average then · 1/2 and / 2, here one exact · 1/4.
/// </summary>
internal static unsafe class Pool2x2Stride2
{
    public static bool Applies(in PoolWindow g) =>
        Avx2.IsSupported && g.KernelH == 2 && g.KernelW == 2 && g.StrideH == 2 && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1
        && g.PadTop == 0 && g.PadLeft == 0 && 2 * g.OutputH <= g.InputH && 2 * g.OutputW <= g.InputW;

    /// <summary>y = scale · reduce over each window (scale 1 for max, 1/4 for the average).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Plane<TReduction>(float* x, float* y, in PoolWindow g, float scale)
        where TReduction : struct, IPoolReduction
    {
        var w = g.InputW;
        var ow = g.OutputW;
        var vs = Vector256.Create(scale);
        for (var oy = 0; oy < g.OutputH; oy++)
        {
            var top = x + (long)2 * oy * w;
            var bottom = top + w;
            var yr = y + (long)oy * ow;
            var o = 0;
            for (; o + 8 <= ow; o += 8)
            {
                Eight<TReduction>(top + 2 * o, bottom + 2 * o, yr + o, vs);
            }
            if (o == ow)
            {
                continue;
            }
            if (ow >= 8)
            {
                // The last 8 outputs again, overlapping the block before: same values, no tail loop.
                Eight<TReduction>(top + 2 * (ow - 8), bottom + 2 * (ow - 8), yr + ow - 8, vs);
                continue;
            }
            for (; o < ow; o++)
            {
                var left = TReduction.Apply(top[2 * o], bottom[2 * o]);
                var right = TReduction.Apply(top[2 * o + 1], bottom[2 * o + 1]);
                yr[o] = TReduction.Apply(left, right) * scale;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Eight<TReduction>(float* top, float* bottom, float* y, Vector256<float> scale)
        where TReduction : struct, IPoolReduction
    {
        var a = TReduction.Apply(Vector256.Load(top), Vector256.Load(bottom));
        var b = TReduction.Apply(Vector256.Load(top + 8), Vector256.Load(bottom + 8));
        var pairs = TReduction.Apply(Avx.Shuffle(a, b, 0x88), Avx.Shuffle(a, b, 0xDD));
        (Avx2.Permute4x64(pairs.AsDouble(), 0xD8).AsSingle() * scale).Store(y);
    }
}
