using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// One row of the zero-padded, column-phase-split input of <see cref="FewChannelConv"/>:
/// dst[r·width + j] = x[py − padT, j·sw + r − padL] for phase r &lt; sw, j &lt; width (0 outside the plane).
/// </summary>
internal static unsafe class PhaseSplitCopy
{
    /// <param name="plane">One input plane (g.Height × g.Width).</param>
    /// <param name="py">Row of the padded input (input row py − padT).</param>
    public static void Row(float* plane, int py, in ConvGeometry g, float* dst, int width)
    {
        var sw = g.StrideW;
        var iy = py - g.PadTop;
        if ((uint)iy >= (uint)g.Height)
        {
            new Span<float>(dst, sw * width).Clear();
            return;
        }
        var src = plane + (long)iy * g.Width;
        for (var r = 0; r < sw; r++)
        {
            var d = dst + (long)r * width;
            // Valid j: 0 <= j·sw + r − padL < Width.
            var shift = r - g.PadLeft;
            var lo = shift >= 0 ? 0 : Math.Min(width, (-shift + sw - 1) / sw);
            var hi = g.Width - shift <= 0 ? 0 : Math.Min(width, (g.Width - shift - 1) / sw + 1);
            hi = Math.Max(hi, lo);
            new Span<float>(d, lo).Clear();
            new Span<float>(d + hi, width - hi).Clear();
            var j = lo;
            if (sw == 1)
            {
                new Span<float>(src + lo + shift, hi - lo).CopyTo(new Span<float>(d + lo, hi - lo));
                continue;
            }
            if (sw == 2 && Avx512F.IsSupported)
            {
                // d[j + i] = src[2j + shift + 2i]: the even lanes of 32 floats from 2j + shift.
                var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                for (; j + 16 <= hi && 2 * j + shift + 32 <= g.Width; j += 16)
                {
                    var s = src + 2 * j + shift;
                    Avx512F.PermuteVar16x32x2(Vector512.Load(s), even, Vector512.Load(s + 16)).Store(d + j);
                }
            }
            if (sw == 2 && Avx2.IsSupported)
            {
                for (; j + 8 <= hi && 2 * j + shift + 16 <= g.Width; j += 8)
                {
                    var s = src + 2 * j + shift;
                    EvenLanes256.Of(Vector256.Load(s), Vector256.Load(s + 8)).Store(d + j);
                }
            }
            for (; j < hi; j++)
            {
                d[j] = src[j * sw + shift];
            }
        }
    }
}
