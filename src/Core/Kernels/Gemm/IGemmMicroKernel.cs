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

    /// <summary>True when <see cref="RunFinal"/> applies the epilogue to the accumulators (no second pass over C).</summary>
    bool FusesEpilogue => false;

    /// <summary>
    /// <see cref="Run"/> for the last K block of a full MR × width tile, then c = act(c + rowBias[r]) (rowBias may be
    /// null) before the one store. Only piecewise-linear activations: an exp would spill the accumulators.
    /// </summary>
    void RunFinal(int kc, float* a, float* b, int width, float* c, int ldc, bool accumulate, float* rowBias, in FusedActivation act)
    {
        Run(kc, a, b, width, c, ldc, accumulate);
        for (var r = 0; r < MR; r++)
        {
            EpilogueRow.Apply(c + (long)r * ldc, width, rowBias == null ? 0f : rowBias[r], null, act, Isa == GemmIsa.Avx512);
        }
    }
}
