namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// One 2-D convolution's sizes for one input shape (1-D convolutions use H = 1).
/// Output pixel (oy, ox), tap (ky, kx) reads input (oy·StrideH − PadTop + ky·DilationH, ox·StrideW − PadLeft + kx·DilationW).
/// </summary>
public readonly record struct ConvGeometry(
    int Channels, int Height, int Width,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int DilationH, int DilationW,
    int PadTop, int PadLeft,
    int OutHeight, int OutWidth)
{
    public int OutPixels => OutHeight * OutWidth;
    public int InPixels => Height * Width;

    /// <summary>Rows of the im2col matrix: channels × taps.</summary>
    public int Taps => Channels * KernelH * KernelW;

    /// <summary>1x1, stride 1, no padding: the input plane is already the GEMM's B matrix.</summary>
    public bool IsPointwise => KernelH == 1 && KernelW == 1 && StrideH == 1 && StrideW == 1 && PadTop == 0 && PadLeft == 0
        && OutHeight == Height && OutWidth == Width;

    /// <summary>
    /// Output size and leading pad along one axis. autoPad is ONNX's auto_pad (NOTSET uses the explicit pads).
    /// Returns false when the output would be empty or the pads negative.
    /// </summary>
    public static bool Axis(string autoPad, int input, int kernel, int stride, int dilation, int padBegin, int padEnd,
        out int output, out int leadingPad)
    {
        var extent = (kernel - 1) * dilation + 1;
        switch (autoPad)
        {
            case "SAME_UPPER":
            case "SAME_LOWER":
                output = (input + stride - 1) / stride;
                var total = Math.Max(0, (output - 1) * stride + extent - input);
                leadingPad = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                return output > 0;
            case "VALID":
                leadingPad = 0;
                output = input >= extent ? (input - extent) / stride + 1 : 0;
                return output > 0;
            default:
                leadingPad = padBegin;
                var padded = input + padBegin + padEnd;
                output = padded >= extent ? (padded - extent) / stride + 1 : 0;
                return output > 0 && padBegin >= 0 && padEnd >= 0;
        }
    }
}
