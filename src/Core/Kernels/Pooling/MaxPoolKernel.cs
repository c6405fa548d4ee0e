namespace DSConvService.Core.Kernels.Pooling;

public static class MaxPoolKernel
{
    /// <summary>
    /// y[oh, ow] = max over the window's taps inside the plane (padding never wins; a window with no
    /// tap inside gives float.MinValue). Separable: the max over the window's rows first (vectorised
    /// over W), then over its columns. <paramref name="scratch"/> holds <see cref="PoolWindow.ScratchLength"/> floats.
    /// </summary>
    public static unsafe void Plane(ReadOnlySpan<float> x, Span<float> y, in PoolWindow g, Span<float> scratch)
    {
        if (MaxPool3x3Stride2.Applies(g) && scratch.Length >= MaxPool3x3Stride2.BufferLength(g)
            && x.Length >= g.InputH * g.InputW && y.Length >= g.OutputH * g.OutputW)
        {
            fixed (float* px = x, py = y, ps = scratch)
            {
                MaxPool3x3Stride2.Plane(px, py, g, ps);
            }
            return;
        }
        if (MaxPool3x3Stride1.Applies(g) && x.Length >= g.InputH * g.InputW && y.Length >= g.OutputH * g.OutputW)
        {
            fixed (float* px = x, py = y)
            {
                MaxPool3x3Stride1.Plane(px, py, g);
            }
            return;
        }
        if (Pool2x2Stride2.Applies(g) && x.Length >= g.InputH * g.InputW && y.Length >= g.OutputH * g.OutputW)
        {
            fixed (float* px = x, py = y)
            {
                Pool2x2Stride2.Plane<MaxReduction>(px, py, g, 1f);
            }
            return;
        }
        var w = g.InputW;
        var padded = scratch[..g.PaddedRowCapacity];
        var gather = scratch.Slice(g.PaddedRowCapacity, g.OutputW);
        var row = padded.Slice(g.PadLeft, w);
        padded.Fill(float.MinValue);
        for (var oh = 0; oh < g.OutputH; oh++)
        {
            var yr = y.Slice(oh * g.OutputW, g.OutputW);
            var (first, count) = g.RowsInside(oh);
            if (count == 0)
            {
                yr.Fill(float.MinValue);
                continue;
            }
            var h = oh * g.StrideH - g.PadTop + first * g.DilationH;
            VerticalWindow.Reduce<MaxReduction>(x[(h * w)..], g.DilationH * w, count, row);
            HorizontalWindow.Reduce<MaxReduction>(padded, yr, g.KernelW, g.StrideW, g.DilationW, gather);
        }
    }

    /// <summary>
    /// Max pooling that also returns the flat index (within the plane, row-major, plus
    /// <paramref name="indexBase"/>) of each maximum, as MaxPool's optional second output.
    /// </summary>
    public static void PlaneWithIndices(ReadOnlySpan<float> x, Span<float> y, Span<long> indices, long indexBase, in PoolWindow g)
    {
        for (var oh = 0; oh < g.OutputH; oh++)
        {
            for (var ow = 0; ow < g.OutputW; ow++)
            {
                var m = float.MinValue;
                var at = -1L;
                for (var kh = 0; kh < g.KernelH; kh++)
                {
                    var h = oh * g.StrideH - g.PadTop + kh * g.DilationH;
                    if ((uint)h >= (uint)g.InputH)
                    {
                        continue;
                    }
                    for (var kw = 0; kw < g.KernelW; kw++)
                    {
                        var c = ow * g.StrideW - g.PadLeft + kw * g.DilationW;
                        if ((uint)c < (uint)g.InputW && (at < 0 || x[h * g.InputW + c] > m))
                        {
                            m = x[h * g.InputW + c];
                            at = h * g.InputW + c;
                        }
                    }
                }
                y[oh * g.OutputW + ow] = m;
                indices[oh * g.OutputW + ow] = indexBase + Math.Max(at, 0);
            }
        }
    }
}
