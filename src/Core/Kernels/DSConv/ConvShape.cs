namespace DSConvService.Core.Kernels.DSConv;

/// <summary>The geometry of one convolution at one input size (NCHW, pads already resolved).</summary>
public readonly record struct ConvShape(
    int N, int C, int H, int W, int O, int Groups, int KH, int KW,
    int StrideH, int StrideW, int PadTop, int PadLeft, int DilationH, int DilationW, int OH, int OW)
{
    public int Cg => C / Groups;
    public int Og => O / Groups;
    public int Taps => KH * KW;
    public int InPixels => H * W;
    public int OutPixels => OH * OW;

    /// <summary>Multiply-accumulates of the whole convolution.</summary>
    public long Macs => (long)N * O * OutPixels * Cg * Taps;

    /// <summary>A fully connected layer X[N,K]·Q[Nout,K]ᵀ seen as a 1x1 convolution on a 1x1 image.</summary>
    public static ConvShape Dense(int n, int k, int nout) => new(n, k, 1, 1, nout, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1);
}
