using System.Numerics.Tensors;

namespace DSConvService.Core.Kernels.Pooling;

public static class AveragePoolKernel
{
    /// <summary>
    /// y[oh, ow] = (sum of the window's taps inside the plane) / count, where count is the number of
    /// taps inside the plane, or with <paramref name="countIncludePad"/> the number of taps inside the
    /// padded extent [-pad_begin, size + pad_end). Vertical sums first (vectorised over W into
    /// <paramref name="row"/>, W floats), then the horizontal window.
    /// </summary>
    public static void Plane(ReadOnlySpan<float> x, Span<float> y, in PoolWindow g, bool countIncludePad, Span<float> row)
    {
        var w = g.InputW;
        for (var oh = 0; oh < g.OutputH; oh++)
        {
            var h0 = oh * g.StrideH - g.PadTop;
            int rows = 0, paddedRows = 0;
            row.Clear();
            for (var kh = 0; kh < g.KernelH; kh++)
            {
                var h = h0 + kh * g.DilationH;
                if (h >= -g.PadTop && h < g.InputH + g.PadBottom)
                {
                    paddedRows++;
                }
                if ((uint)h >= (uint)g.InputH)
                {
                    continue;
                }
                rows++;
                TensorPrimitives.Add(row, x.Slice(h * w, w), row);
            }
            var yr = y.Slice(oh * g.OutputW, g.OutputW);
            for (var ow = 0; ow < g.OutputW; ow++)
            {
                var w0 = ow * g.StrideW - g.PadLeft;
                var sum = 0f;
                int cols = 0, paddedCols = 0;
                for (var kw = 0; kw < g.KernelW; kw++)
                {
                    var c = w0 + kw * g.DilationW;
                    if (c >= -g.PadLeft && c < w + g.PadRight)
                    {
                        paddedCols++;
                    }
                    if ((uint)c < (uint)w)
                    {
                        sum += row[c];
                        cols++;
                    }
                }
                var count = countIncludePad ? paddedRows * paddedCols : rows * cols;
                yr[ow] = count == 0 ? 0f : sum / count;
            }
        }
    }
}
