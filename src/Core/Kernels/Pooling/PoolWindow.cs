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
    int InputH, int InputW, int OutputH, int OutputW);
