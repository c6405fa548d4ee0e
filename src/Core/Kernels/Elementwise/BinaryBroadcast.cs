using DSConvService.Core.Execution;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Kernels.Elementwise;

/// <summary>Runs a row kernel over a broadcast layout, split over threads when the output is large.</summary>
public static class BinaryBroadcast
{
    /// <summary>Outputs smaller than this run on one thread (thread hand-off costs more than it saves).</summary>
    public const int ParallelThreshold = 1 << 16;

    /// <summary>d = f(a, b) with numpy broadcasting of a (shape <paramref name="aShape"/>) and b to <paramref name="dShape"/>.</summary>
    public static void Run<TA, TB, TD, TKernel>(TA[] a, int[] aShape, TB[] b, int[] bShape, TD[] d, int[] dShape, int threads)
        where TKernel : IRowKernel<TA, TB, TD>
    {
        if (d.Length == 0)
        {
            return;
        }
        var layout = new BroadcastLayout(aShape, bShape, dShape);
        var n = layout.RowLength;
        var useThreads = d.Length >= ParallelThreshold ? threads : 1;
        if (layout.Rows == 1)
        {
            // One long row: split it into chunks.
            CpuParallel.For(n, useThreads, (start, end) => TKernel.Row(
                a.AsSpan(layout.StepA * start, layout.StepA * (end - start - 1) + 1), layout.StepA,
                b.AsSpan(layout.StepB * start, layout.StepB * (end - start - 1) + 1), layout.StepB,
                d.AsSpan(start, end - start)));
            return;
        }
        CpuParallel.For(layout.Rows, useThreads, (start, end) =>
        {
            for (var r = start; r < end; r++)
            {
                var (oa, ob) = layout.RowOffsets(r);
                TKernel.Row(
                    a.AsSpan(oa, layout.StepA * (n - 1) + 1), layout.StepA,
                    b.AsSpan(ob, layout.StepB * (n - 1) + 1), layout.StepB,
                    d.AsSpan(r * n, n));
            }
        });
    }
}
