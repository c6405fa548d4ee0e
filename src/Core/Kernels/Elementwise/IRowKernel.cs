namespace DSConvService.Core.Kernels.Elementwise;

/// <summary>
/// One output row of a broadcast binary operation: d[i] = f(a[i·stepA], b[i·stepB]) for i in [0, d.Length),
/// where each step is 0 or 1 (a step of 0 means the operand span holds the single repeated value).
/// </summary>
public interface IRowKernel<TA, TB, TD>
{
    static abstract void Row(ReadOnlySpan<TA> a, int stepA, ReadOnlySpan<TB> b, int stepB, Span<TD> d);
}
