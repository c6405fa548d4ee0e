namespace DSConvService.Core.Kernels.Pooling;

/// <summary>
/// Geometry of a 2-D pooling window over one H×W plane: output (oh, ow) covers input rows
/// oh·StrideH - PadTop + kh·DilationH for kh in [0, KernelH) (likewise for columns).
/// PadBottom/PadRight bound the padded extent (for count_include_pad).
/// </summary>
public readonly record struct PoolWindow(
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int DilationH, int DilationW,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int InputH, int InputW, int OutputH, int OutputW)
{
    /// <summary>Length of a row padded on both sides so that every window's columns fall inside it.</summary>
    public int PaddedRowLength => Math.Max(PadLeft + InputW, (OutputW - 1) * StrideW + (KernelW - 1) * DilationW + 1);

    /// <summary>Floats reserved for the padded row: its length plus what the vector path reads past it.</summary>
    public int PaddedRowCapacity => HorizontalWindow.Capacity(PaddedRowLength, OutputW, KernelW, StrideW, DilationW);

    /// <summary>Scratch floats one plane computation needs (see the kernels).</summary>
    public int ScratchLength => PaddedRowCapacity + 2 * OutputW;

    /// <summary>The taps kh in [First, First + Count) of output row <paramref name="oh"/> that fall inside the plane.</summary>
    public (int First, int Count) RowsInside(int oh)
    {
        var h0 = oh * StrideH - PadTop;
        if (DilationH <= 0)
        {
            return (0, (uint)h0 < (uint)InputH ? KernelH : 0);
        }
        var first = h0 >= 0 ? 0 : (-h0 + DilationH - 1) / DilationH;
        var end = h0 >= InputH ? 0 : Math.Min(KernelH, (InputH - h0 + DilationH - 1) / DilationH);
        return (first, Math.Max(0, end - first));
    }
}
