using System.Numerics.Tensors;

namespace DSConvService.Core.Kernels.Pooling;

public static class AveragePoolKernel
{
    /// <summary>
    /// y[oh, ow] = (sum of the window's taps inside the plane) / count, where count is the number of
    /// taps inside the plane, or with <paramref name="countIncludePad"/> the number of taps inside the
    /// padded extent [-pad_begin, size + pad_end). Separable: row sums first (vectorised over W), then
    /// column sums. <paramref name="scratch"/> holds <see cref="PoolWindow.ScratchLength"/> floats.
    /// </summary>
    public static unsafe void Plane(ReadOnlySpan<float> x, Span<float> y, in PoolWindow g, bool countIncludePad, Span<float> scratch)
    {
        // Every window inside the plane: count_include_pad changes nothing.
        if (Pool2x2Stride2.Applies(g) && x.Length >= g.InputH * g.InputW && y.Length >= g.OutputH * g.OutputW)
        {
            fixed (float* px = x, py = y)
            {
                Pool2x2Stride2.Plane<SumReduction>(px, py, g, 0.25f);
            }
            return;
        }
        var w = g.InputW;
        var padded = scratch[..g.PaddedRowCapacity];
        var gather = scratch.Slice(g.PaddedRowCapacity, g.OutputW);
        var inverseCols = scratch.Slice(g.PaddedRowCapacity + g.OutputW, g.OutputW);
        var row = padded.Slice(g.PadLeft, w);
        padded.Clear();
        for (var ow = 0; ow < g.OutputW; ow++)
        {
            inverseCols[ow] = 1f / Taps(ow * g.StrideW - g.PadLeft, g.KernelW, g.DilationW, w, countIncludePad ? g.PadLeft : 0, countIncludePad ? g.PadRight : 0);
        }
        for (var oh = 0; oh < g.OutputH; oh++)
        {
            var h0 = oh * g.StrideH - g.PadTop;
            var yr = y.Slice(oh * g.OutputW, g.OutputW);
            var (first, count) = g.RowsInside(oh);
            if (count == 0)
            {
                row.Clear();
            }
            else
            {
                VerticalWindow.Reduce<SumReduction>(x[((h0 + first * g.DilationH) * w)..], g.DilationH * w, count, row);
            }
            var rows = Taps(h0, g.KernelH, g.DilationH, g.InputH, countIncludePad ? g.PadTop : 0, countIncludePad ? g.PadBottom : 0);
            HorizontalWindow.Reduce<SumReduction>(padded, yr, g.KernelW, g.StrideW, g.DilationW, gather);
            TensorPrimitives.Multiply(yr, inverseCols, yr);
            TensorPrimitives.Divide(yr, rows, yr);
        }
    }

    /// <summary>Taps of a window starting at <paramref name="start"/> that fall in [-padBegin, size + padEnd).</summary>
    private static int Taps(int start, int kernel, int dilation, int size, int padBegin, int padEnd)
    {
        var n = 0;
        for (var k = 0; k < kernel; k++)
        {
            var i = start + k * dilation;
            if (i >= -padBegin && i < size + padEnd)
            {
                n++;
            }
        }
        return n;
    }
}
