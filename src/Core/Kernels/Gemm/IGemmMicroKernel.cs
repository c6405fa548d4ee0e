namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// The register-blocked inner loop of the fp32 GEMM. A is packed in panels of <see cref="MR"/> rows
/// (element (r, k) at a[k·MR + r]); B in panels of <c>width</c> columns (element (k, j) at b[k·width + j]).
/// </summary>
public unsafe interface IGemmMicroKernel
{
    GemmIsa Isa { get; }

    /// <summary>Rows of C computed per call (rows of an A panel).</summary>
    int MR { get; }

    /// <summary>Widest B panel.</summary>
    int NR { get; }

    /// <summary>B panel widths are multiples of this (the last panel of a matrix may be narrower than NR).</summary>
    int NRStep { get; }

    /// <summary>
    /// c[r·ldc + j] = (accumulate ? c[r·ldc + j] : 0) + Σ_{k&lt;kc} a[k·MR + r] · b[k·width + j]
    /// for r &lt; MR, j &lt; width. width is a multiple of NRStep, at most NR.
    /// </summary>
    void Run(int kc, float* a, float* b, int width, float* c, int ldc, bool accumulate);

    /// <summary>Largest column count <see cref="RunNarrow"/> handles (0 when the kernel has no narrow path).</summary>
    int NarrowCols { get; }

    /// <summary>
    /// The first <paramref name="cols"/> (≤ NarrowCols) columns and <paramref name="rows"/> (≤ MR) rows of
    /// <see cref="Run"/>'s result, cheaper than a full panel when only a few columns are real (e.g. 49 = 48 + 1 pixels).
    /// </summary>
    void RunNarrow(int kc, float* a, float* b, int width, int rows, int cols, float* c, int ldc, bool accumulate);
}
