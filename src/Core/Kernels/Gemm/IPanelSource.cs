namespace DSConvService.Core.Kernels.Gemm;

/// <summary>Produces B panels for the GEMM driver (a plain matrix, or im2col of an image for Conv).</summary>
public unsafe interface IPanelSource
{
    /// <summary>
    /// Writes columns [col0, col0 + valid) of B, all K rows, as a panel of <paramref name="width"/>
    /// columns: dst[k·width + j] = B[k, col0 + j], and 0 for valid ≤ j &lt; width.
    /// </summary>
    void Pack(int col0, int valid, int width, float* dst);
}

/// <summary>B[k, j] = src[k·rowStride + j·colStride] (covers transposed and strided matrices).</summary>
public readonly unsafe struct MatrixPanelSource(float* src, int k, int rowStride, int colStride) : IPanelSource
{
    public void Pack(int col0, int valid, int width, float* dst)
    {
        for (var kk = 0; kk < k; kk++)
        {
            var row = src + (long)kk * rowStride + (long)col0 * colStride;
            var d = dst + (long)kk * width;
            if (colStride == 1)
            {
                new ReadOnlySpan<float>(row, valid).CopyTo(new Span<float>(d, valid));
            }
            else
            {
                for (var j = 0; j < valid; j++)
                {
                    d[j] = row[(long)j * colStride];
                }
            }
            new Span<float>(d + valid, width - valid).Clear();
        }
    }
}

/// <summary>Placeholder source for B operands that are already packed.</summary>
internal readonly unsafe struct PrepackedSource : IPanelSource
{
    public void Pack(int col0, int valid, int width, float* dst)
    {
    }
}
