namespace DSConvService.Core.Kernels.Gemm;

/// <summary>Produces B panels for the GEMM driver (a plain matrix, or im2col of an image for Conv).</summary>
public unsafe interface IPanelSource
{
    /// <summary>
    /// Writes columns [col0, col0 + cols) of B, all K rows, into consecutive panels of the layout
    /// <paramref name="layout"/> describes, the first at <paramref name="dst"/> (col0 is a panel start).
    /// Row by row over all the panels, so the source is read in order.
    /// </summary>
    void Pack(int col0, int cols, PanelLayout layout, float* dst);
}

/// <summary>
/// Where B panels live: panel p of a range (columns p·NR ..) starts at p·NR·K floats; its width is NR,
/// or for the last panel the remaining columns rounded up to Step; element (k, j) is at k·width + j.
/// </summary>
public readonly record struct PanelLayout(int K, int NR, int Step)
{
    public int Width(int remaining) => Math.Min(NR, (remaining + Step - 1) / Step * Step);
}

/// <summary>B[k, j] = src[k·rowStride + j·colStride] (covers transposed and strided matrices).</summary>
public readonly unsafe struct MatrixPanelSource(float* src, int k, int rowStride, int colStride) : IPanelSource
{
    public void Pack(int col0, int cols, PanelLayout layout, float* dst)
    {
        for (var kk = 0; kk < k; kk++)
        {
            for (var j0 = 0; j0 < cols; j0 += layout.NR)
            {
                var valid = Math.Min(layout.NR, cols - j0);
                var width = layout.Width(valid);
                var row = src + (long)kk * rowStride + (long)(col0 + j0) * colStride;
                var d = dst + (long)j0 * layout.K + (long)kk * width;
                if (colStride == 1)
                {
                    PanelCopy.Copy(row, d, valid);
                }
                else
                {
                    for (var j = 0; j < valid; j++)
                    {
                        d[j] = row[(long)j * colStride];
                    }
                }
                PanelCopy.Zero(d + valid, width - valid);
            }
        }
    }
}

/// <summary>Placeholder source for B operands that are already packed.</summary>
internal readonly unsafe struct PrepackedSource : IPanelSource
{
    public void Pack(int col0, int cols, PanelLayout layout, float* dst)
    {
    }
}
