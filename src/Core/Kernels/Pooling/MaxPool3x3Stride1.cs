using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Pooling;

/// <summary>
/// Max pooling with 3×3 windows, stride 1, dilation 1 and at most one padded row/column at the top/left (GoogLeNet's
/// inception branches, 3×3/1 pad 1 on maps of 7×7 to 28×28) straight on one NCHW plane (AVX-512): 16 outputs of a row at a
/// time, each of the window's rows read three times, one column apart, by masked loads that fill the columns outside the
/// plane with float.MinValue (padding never wins). No row buffer and no channel-block transpose: on GoogLeNet's small
/// maps the channel-blocked kernel spent its time transposing (480×14×14: 0.059 ms).
/// </summary>
internal static unsafe class MaxPool3x3Stride1
{
    public static bool Applies(in PoolWindow g) =>
        Avx512F.IsSupported && g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 1 && g.StrideW == 1
        && g.DilationH == 1 && g.DilationW == 1 && g.PadTop is 0 or 1 && g.PadLeft is 0 or 1;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Plane(float* x, float* y, in PoolWindow g)
    {
        var (w, h, outH, outW, padTop) = (g.InputW, g.InputH, g.OutputH, g.OutputW, g.PadTop);
        var floor = Vector512.Create(float.MinValue);
        var lanes = Vector512<int>.Indices;
        for (var ox = 0; ox < outW; ox += 16)
        {
            // Lane i of tap column kx reads input column ox + i − PadLeft + kx; lanes beyond the output row store nothing.
            var first = ox - g.PadLeft;
            var column = lanes + Vector512.Create(first);
            var inside = Vector512.GreaterThanOrEqual(column, Vector512<int>.Zero) & Vector512.LessThan(column, Vector512.Create(w));
            var mask0 = inside.AsSingle();
            var mask1 = (Vector512.GreaterThanOrEqual(column, Vector512.Create(-1)) & Vector512.LessThan(column, Vector512.Create(w - 1))).AsSingle();
            var mask2 = (Vector512.GreaterThanOrEqual(column, Vector512.Create(-2)) & Vector512.LessThan(column, Vector512.Create(w - 2))).AsSingle();
            var store = Vector512.LessThan(lanes, Vector512.Create(outW - ox)).AsSingle();
            for (var oy = 0; oy < outH; oy++)
            {
                // The window's rows inside the plane: [oy − PadTop, oy − PadTop + 3) ∩ [0, H) (empty below a ceil_mode edge).
                var r0 = Math.Max(oy - padTop, 0);
                var r1 = Math.Min(oy - padTop + 3, h);
                var m = floor;
                var row = x + (long)r0 * w + first;
                for (var r = r0; r < r1; r++, row += w)
                {
                    m = Vector512.MaxNative(m, Avx512F.MaskLoad(row, mask0, floor));
                    m = Vector512.MaxNative(m, Avx512F.MaskLoad(row + 1, mask1, floor));
                    m = Vector512.MaxNative(m, Avx512F.MaskLoad(row + 2, mask2, floor));
                }
                Avx512F.MaskStore(y + (long)oy * outW + ox, store, m);
            }
        }
    }
}
