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

    /// <summary>Scratch floats one plane computation needs (see the kernels).</summary>
    public int ScratchLength => InputW + PaddedRowLength + 2 * OutputW;
}
