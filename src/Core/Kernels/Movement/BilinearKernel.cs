namespace DSConvService.Core.Kernels.Movement;

/// <summary>Source taps of one output coordinate for linear interpolation: (1 - W)·in[I0] + W·in[I1].</summary>
public readonly record struct LinearTap(int I0, int I1, float W);

public static class BilinearKernel
{
    /// <summary>
    /// Bilinear resize of planes [planes, inH, inW] → [planes, outH, outW]:
    /// y[p, oh, ow] = lerp(lerp(x[p, r0, c0], x[p, r0, c1], wc), lerp(x[p, r1, c0], x[p, r1, c1], wc), wr)
    /// with (r0, r1, wr) = rows[oh] and (c0, c1, wc) = cols[ow].
    /// </summary>
    public static void Run(ReadOnlySpan<float> x, int planes, int inH, int inW, LinearTap[] rows, LinearTap[] cols, Span<float> y)
    {
        var outH = rows.Length;
        var outW = cols.Length;
        for (var p = 0; p < planes; p++)
        {
            var xp = x.Slice(p * inH * inW, inH * inW);
            var yp = y.Slice(p * outH * outW, outH * outW);
            for (var oh = 0; oh < outH; oh++)
            {
                var r = rows[oh];
                var top = xp.Slice(r.I0 * inW, inW);
                var bottom = xp.Slice(r.I1 * inW, inW);
                var yr = yp.Slice(oh * outW, outW);
                for (var ow = 0; ow < outW; ow++)
                {
                    var c = cols[ow];
                    var t = top[c.I0] + (top[c.I1] - top[c.I0]) * c.W;
                    var b = bottom[c.I0] + (bottom[c.I1] - bottom[c.I0]) * c.W;
                    yr[ow] = t + (b - t) * r.W;
                }
            }
        }
    }
}
