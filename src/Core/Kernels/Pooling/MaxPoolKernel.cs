using System.Numerics.Tensors;

namespace DSConvService.Core.Kernels.Pooling;

public static class MaxPoolKernel
{
    /// <summary>
    /// y[oh, ow] = max over the window's taps inside the plane (padding never wins; a window with no
    /// tap inside gives float.MinValue). Vertical pass first (vectorised over W into
    /// <paramref name="row"/>, W floats), then the horizontal window on that row.
    /// </summary>
    public static void Plane(ReadOnlySpan<float> x, Span<float> y, in PoolWindow g, Span<float> row)
    {
        var w = g.InputW;
        for (var oh = 0; oh < g.OutputH; oh++)
        {
            var h0 = oh * g.StrideH - g.PadTop;
            var any = false;
            for (var kh = 0; kh < g.KernelH; kh++)
            {
                var h = h0 + kh * g.DilationH;
                if ((uint)h >= (uint)g.InputH)
                {
                    continue;
                }
                if (!any)
                {
                    x.Slice(h * w, w).CopyTo(row);
                    any = true;
                }
                else
                {
                    TensorPrimitives.Max(row, x.Slice(h * w, w), row);
                }
            }
            var yr = y.Slice(oh * g.OutputW, g.OutputW);
            if (!any)
            {
                yr.Fill(float.MinValue);
                continue;
            }
            for (var ow = 0; ow < g.OutputW; ow++)
            {
                var w0 = ow * g.StrideW - g.PadLeft;
                var m = float.MinValue;
                for (var kw = 0; kw < g.KernelW; kw++)
                {
                    var c = w0 + kw * g.DilationW;
                    if ((uint)c < (uint)w && row[c] > m)
                    {
                        m = row[c];
                    }
                }
                yr[ow] = m;
            }
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
