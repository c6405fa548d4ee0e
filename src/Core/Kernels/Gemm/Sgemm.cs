using DSConvService.Core.Execution;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// The fp32 GEMM driver: C[M,N] = (accumulate ? C : 0) + A[M,K]·B[K,N], then the epilogue.
/// A is packed in row panels (<see cref="PackA"/>, usually once for constant weights); B is either
/// packed here, panel by panel from an <see cref="IPanelSource"/> into scratch, or pre-packed
/// (<see cref="PackB"/>). The driver owns cache blocking (K in blocks of <see cref="KC"/>, rows in
/// blocks of <see cref="MC"/>) and threading: threads take disjoint column panels when that splits
/// the work evenly, otherwise disjoint row blocks (after packing B together).
/// </summary>
public static unsafe class Sgemm
{
    /// <summary>K block: a KC×48 B panel (48 KiB) stays in L1 while the rows of an A block stream over it.</summary>
    public const int KC = 256;

    /// <summary>Rows per A block (MC×KC floats, 128 KiB, stay in L2 across the column panels).</summary>
    public const int MC = 128;

    /// <summary>Floats of B packed at once by one thread in column order (a quarter of L2, leaving room for A and C).</summary>
    private const int ChunkFloats = 1 << 16;

    /// <summary>Packed A larger than this (4 MiB) is streamed once, in row order (see PreferRowOrder).</summary>
    private const long RowOrderWeightFloats = 1 << 20;

    /// <summary>Below this many multiply-adds the GEMM runs on the calling thread only.</summary>
    private const long ParallelThreshold = 1 << 16;

    /// <summary>Off sends every epilogue through the stripe pass; only an A/B benchmark sets it.</summary>
    internal static bool FuseEpilogue { get; set; } = true;

    /// <summary>B bytes of the panels one row block runs over before the next (see Compute); a benchmark may change it.</summary>
    internal static int PanelGroupBytes { get; set; } = 16 << 10;

    public static int RoundUp(int n, int step) => (n + step - 1) / step * step;

    /// <summary>Floats of a packed A (rows padded to a multiple of MR).</summary>
    public static long PackedAFloats(IGemmMicroKernel kernel, int m, int k) => (long)RoundUp(m, kernel.MR) * k;

    /// <summary>Floats of a packed B (columns padded to a multiple of NRStep).</summary>
    public static long PackedBFloats(IGemmMicroKernel kernel, int n, int k) => (long)RoundUp(n, kernel.NRStep) * k;

    /// <summary>Scratch <see cref="Multiply{TSource}"/> needs for a B packed at run time (including 64-byte alignment slack).</summary>
    public static long ScratchFloats(IGemmMicroKernel kernel, int n, int k) => PackedBFloats(kernel, n, k) + 16;

    /// <summary>The first 64-byte aligned float at or after p.</summary>
    public static float* Align64(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    /// <summary>
    /// Packs A[i, k] = src[i·rowStride + k·colStride] · scale, rows padded with zeros to Mp = a multiple of MR.
    /// Rows are cut in blocks of MC, K in blocks of KC, in the order the driver reads them: the block
    /// of rows [r0, r0 + mc) holds mc·K floats from r0·K; inside it K block k0 holds mc·kc floats from
    /// k0·mc; inside that the row panel starting at row i0 holds kc·MR floats from (i0 − r0)·kc, element
    /// (i, k) at (k − k0)·MR + (i − i0). So A is read as one sequential stream.
    /// </summary>
    public static void PackA(IGemmMicroKernel kernel, float* src, int rowStride, int colStride, int m, int k, float scale, float* dst)
    {
        var mr = kernel.MR;
        var mp = RoundUp(m, mr);
        for (var i0 = 0; i0 < m; i0 += mr)
        {
            var rows = Math.Min(mr, m - i0);
            for (var k0 = 0; k0 < k; k0 += KC)
            {
                var kc = Math.Min(KC, k - k0);
                var panel = dst + PanelOffsetA(mr, mp, k, i0, k0, kc);
                for (var r = 0; r < mr; r++)
                {
                    if (r >= rows)
                    {
                        for (var kk = 0; kk < kc; kk++)
                        {
                            panel[kk * mr + r] = 0f;
                        }
                        continue;
                    }
                    var row = src + (long)(i0 + r) * rowStride + (long)k0 * colStride;
                    for (var kk = 0; kk < kc; kk++)
                    {
                        panel[kk * mr + r] = row[(long)kk * colStride] * scale;
                    }
                }
            }
        }
    }

    /// <summary>Where the packed A panel of rows [i0, i0 + MR) and K block k0 (kc long) starts (see <see cref="PackA"/>).</summary>
    private static long PanelOffsetA(int mr, int mp, int k, int i0, int k0, int kc)
    {
        var mc = MC / mr * mr;
        var r0 = i0 / mc * mc;
        var rows = Math.Min(mc, mp - r0);
        return (long)r0 * k + (long)k0 * rows + (long)(i0 - r0) * kc;
    }

    /// <summary>Packs B[k, j] = src[k·rowStride + j·colStride] into the panel layout <see cref="Multiply"/> reads.</summary>
    public static void PackB(IGemmMicroKernel kernel, float* src, int rowStride, int colStride, int k, int n, float* dst)
    {
        new MatrixPanelSource(src, k, rowStride, colStride).Pack(0, n, new PanelLayout(k, kernel.NR, kernel.NRStep), dst);
    }

    /// <summary>C = (accumulate ? C : 0) + A·B with B packed from <paramref name="source"/> into <paramref name="scratch"/> (64-byte aligned, <see cref="PackedBFloats"/> floats).</summary>
    public static void Multiply<TSource>(IGemmMicroKernel kernel, float* packedA, TSource source, float* scratch,
        int m, int n, int k, float* c, int ldc, bool accumulate, GemmEpilogue epilogue, int threads)
        where TSource : struct, IPanelSource =>
        Run(new Job<TSource>(kernel, packedA, scratch, source, true, m, n, k, c, ldc, accumulate, epilogue), threads);

    /// <summary>C = (accumulate ? C : 0) + A·B with both operands packed.</summary>
    public static void Multiply(IGemmMicroKernel kernel, float* packedA, float* packedB,
        int m, int n, int k, float* c, int ldc, bool accumulate, GemmEpilogue epilogue, int threads) =>
        Run(new Job<PrepackedSource>(kernel, packedA, packedB, default, false, m, n, k, c, ldc, accumulate, epilogue), threads);

    private static void Run<TSource>(Job<TSource> job, int threads) where TSource : struct, IPanelSource
    {
        if (job.M == 0 || job.N == 0)
        {
            return;
        }
        if (job.K == 0)
        {
            job.ZeroAndFinish();
            return;
        }
        var panels = job.Panels;
        var rowBlocks = job.RowBlocks;
        var rows = PreferRowOrder(job);
        if (threads <= 1 || (long)job.M * job.N * job.K < ParallelThreshold || panels * rowBlocks == 1)
        {
            if (rows)
            {
                job.PackPanels(0, panels);
                job.Compute(0, rowBlocks, 0, panels);
            }
            else
            {
                job.ColumnWork(0, panels);
            }
            return;
        }
        if (rowBlocks < 2 * threads || (!rows && ColumnSplitIsEven(job, panels, threads)))
        {
            CpuParallel.For(panels, threads, job.ColumnWork);
            return;
        }
        if (job.PackInDriver)
        {
            CpuParallel.For(panels, threads, job.PackPanels);
        }
        CpuParallel.For(rowBlocks, threads, (r0, r1) => job.Compute(r0, r1, 0, panels));
    }

    /// <summary>
    /// Column order (pack a chunk of B that fits L2, run all rows over it) streams A once per chunk,
    /// which is cheap while A stays in L3; row order (pack all of B, then run row blocks over it) streams
    /// A once but sends B through L3. Measured on ResNet18: row order wins only for weights of several MB
    /// (512×4608 at batch 8), column order clearly wins up to 256×2304.
    /// </summary>
    private static bool PreferRowOrder<TSource>(Job<TSource> job) where TSource : struct, IPanelSource =>
        (long)job.RowBlocks * job.MR * job.K > RowOrderWeightFloats && job.Panels > job.ChunkPanels;

    /// <summary>Whether the contiguous panel ranges <see cref="CpuParallel"/> makes hold nearly equal numbers of columns.</summary>
    private static bool ColumnSplitIsEven<TSource>(Job<TSource> job, int panels, int threads) where TSource : struct, IPanelSource
    {
        var parts = Math.Min(threads, panels);
        long max = 0, total = 0;
        for (var p = 0; p < parts; p++)
        {
            var p0 = (int)((long)panels * p / parts);
            var p1 = (int)((long)panels * (p + 1) / parts);
            long cols = 0;
            for (var j = p0; j < p1; j++)
            {
                cols += job.PanelWidth(j);
            }
            max = Math.Max(max, cols);
            total += cols;
        }
        return max * threads <= total * 1.08;
    }

    private readonly struct Job<TSource>(IGemmMicroKernel kernel, float* a, float* b, TSource source, bool packInDriver,
        int m, int n, int k, float* c, int ldc, bool accumulate, GemmEpilogue epilogue)
        where TSource : struct, IPanelSource
    {
        public int M => m;
        public int N => n;
        public int K => k;
        public bool PackInDriver => packInDriver;
        public int Panels => (n + kernel.NR - 1) / kernel.NR;
        public int RowBlocks => (m + kernel.MR - 1) / kernel.MR;
        public int MR => kernel.MR;

        /// <summary>Panels packed at once in column order.</summary>
        public int ChunkPanels => Math.Max(1, ChunkFloats / (k * kernel.NR));

        public int PanelWidth(int p) => Math.Min(kernel.NR, RoundUp(n - p * kernel.NR, kernel.NRStep));

        private float* Panel(int p) => b + (long)p * kernel.NR * k;

        public void PackPanels(int p0, int p1) => PackPanels(p0, p1, Panel(p0));

        private void PackPanels(int p0, int p1, float* dst)
        {
            var col = p0 * kernel.NR;
            source.Pack(col, Math.Min(p1 * kernel.NR, n) - col, new PanelLayout(k, kernel.NR, kernel.NRStep), dst);
        }

        /// <summary>
        /// All rows of panels [p0, p1), B packed chunk by chunk just before use, every chunk into the same
        /// place (the start of this range's scratch): it stays in L2 instead of each chunk costing a
        /// read-for-ownership and a write-back of fresh memory.
        /// </summary>
        public void ColumnWork(int p0, int p1)
        {
            var chunk = ChunkPanels;
            for (var q = p0; q < p1; q += chunk)
            {
                var q1 = Math.Min(q + chunk, p1);
                if (packInDriver)
                {
                    PackPanels(q, q1, Panel(p0));
                    Compute(0, RowBlocks, q, q1, Panel(p0) - (long)q * kernel.NR * k);
                }
                else
                {
                    Compute(0, RowBlocks, q, q1, b);
                }
            }
        }

        /// <summary>Row blocks [rb0, rb1) × panels [p0, p1) of a B packed in place.</summary>
        public void Compute(int rb0, int rb1, int p0, int p1) => Compute(rb0, rb1, p0, p1, b);

        /// <summary>Row blocks [rb0, rb1) × panels [p0, p1), B already packed, panel p at panels + p·NR·K.</summary>
        private void Compute(int rb0, int rb1, int p0, int p1, float* panels)
        {
            var mr = kernel.MR;
            var nr = kernel.NR;
            var edge = stackalloc float[mr * nr];
            var avx2 = kernel as Avx2MicroKernel;
            var mcBlocks = Math.Max(1, MC / mr);
            var mp = RowBlocks * mr;
            for (var mb = rb0; mb < rb1; mb = mb / mcBlocks * mcBlocks + mcBlocks)
            {
                // Blocks follow the global MC grid of the packed A, clipped to this range.
                var mbEnd = Math.Min(mb / mcBlocks * mcBlocks + mcBlocks, rb1);
                for (var k0 = 0; k0 < k; k0 += KC)
                {
                    var kc = Math.Min(KC, k - k0);
                    var acc = accumulate || k0 > 0;
                    // The last K block of a kernel that applies the epilogue to its accumulators: full tiles get it
                    // there, edge tiles right after they are written; no pass over the stripe.
                    var fused = k0 + kc == k && FuseEpilogue && kernel.FusesEpilogue && !epilogue.IsNone && epilogue.ColBias == null
                        && epilogue.Activation.IsPiecewiseLinear;
                    // Panels in groups whose B stays in L1: each row block runs over the whole group, so C is written
                    // in runs of the group's width per row instead of one tile wide (a small-K GEMM is bound by its
                    // stores, and 6-row tiles one panel wide touch as many pages as C has rows).
                    var group = Math.Max(1, PanelGroupBytes / (kc * nr * sizeof(float)));
                    for (var g0 = p0; g0 < p1; g0 += group)
                    {
                        var g1 = Math.Min(g0 + group, p1);
                        for (var rb = mb; rb < mbEnd; rb++)
                        {
                            var row = rb * mr;
                            var ap = a + PanelOffsetA(mr, mp, k, row, k0, kc);
                            var rows = Math.Min(mr, m - row);
                            for (var p = g0; p < g1; p++)
                            {
                                var width = PanelWidth(p);
                                var col = p * nr;
                                var valid = Math.Min(width, n - col);
                                var bp = panels + (long)p * nr * k + (long)k0 * width;
                                var cp = c + (long)row * ldc + col;
                                if (valid <= kernel.NarrowCols)
                                {
                                    kernel.RunNarrow(kc, ap, bp, width, rows, valid, cp, ldc, acc);
                                }
                                else if (rows == mr && valid == width)
                                {
                                    var rowBias = epilogue.RowBias == null ? null : epilogue.RowBias + row;
                                    // The sealed AVX2 kernel called directly: an interface call per tile is a dispatch stub
                                    // per tile, 5 % of a small-K pointwise convolution.
                                    if (avx2 is not null)
                                    {
                                        if (fused)
                                        {
                                            avx2.RunFinal(kc, ap, bp, width, cp, ldc, acc, rowBias, epilogue.Activation);
                                            continue;
                                        }
                                        avx2.Run(kc, ap, bp, width, cp, ldc, acc);
                                    }
                                    else if (fused)
                                    {
                                        kernel.RunFinal(kc, ap, bp, width, cp, ldc, acc, rowBias, epilogue.Activation);
                                        continue;
                                    }
                                    else
                                    {
                                        kernel.Run(kc, ap, bp, width, cp, ldc, acc);
                                    }
                                }
                                else
                                {
                                    EdgeTile(kc, ap, bp, width, cp, rows, valid, acc, edge);
                                }
                                if (fused)
                                {
                                    epilogue.Apply(c, ldc, row, row + rows, col, col + valid, kernel.Isa == GemmIsa.Avx512);
                                }
                            }
                        }
                        if (k0 + kc == k && !fused)
                        {
                            // The finished stripe of this group is still in L1/L2: a later pass over the
                            // whole block would read it back from L3 when the block outgrows L2.
                            var col0 = g0 * nr;
                            epilogue.Apply(c, ldc, mb * mr, Math.Min(mbEnd * mr, m), col0, Math.Min(g1 * nr, n), kernel.Isa == GemmIsa.Avx512);
                        }
                    }
                }
            }
        }

        /// <summary>A partial tile: computed in a local buffer, only its valid part copied to C.</summary>
        private void EdgeTile(int kc, float* ap, float* bp, int width, float* cp, int rows, int valid, bool acc, float* edge)
        {
            if (acc)
            {
                for (var r = 0; r < rows; r++)
                {
                    new ReadOnlySpan<float>(cp + (long)r * ldc, valid).CopyTo(new Span<float>(edge + r * width, valid));
                }
            }
            kernel.Run(kc, ap, bp, width, edge, width, acc);
            for (var r = 0; r < rows; r++)
            {
                new ReadOnlySpan<float>(edge + r * width, valid).CopyTo(new Span<float>(cp + (long)r * ldc, valid));
            }
        }

        public void ZeroAndFinish()
        {
            for (var i = 0; i < m; i++)
            {
                if (!accumulate)
                {
                    new Span<float>(c + (long)i * ldc, n).Clear();
                }
            }
            epilogue.Apply(c, ldc, 0, m, 0, n, kernel.Isa == GemmIsa.Avx512);
        }
    }
}
