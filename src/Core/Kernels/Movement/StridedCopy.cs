namespace DSConvService.Core.Kernels.Movement;

public static class StridedCopy
{
    /// <summary>
    /// Gathers a strided view into a contiguous destination:
    /// dst[i0,…,ik] (row-major over <paramref name="shape"/>) = src[offset + Σ ij·strides[j]].
    /// Strides may be 0 (broadcast) or negative (reversed slices). Serves Transpose, Slice and Expand.
    /// </summary>
    /// <param name="threads">Threads the rows may be split over once the copy moves 2^17 elements.</param>
    public static void Run<T>(T[] src, int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, T[] dst, int threads = 1)
    {
        if (dst.Length == 0)
        {
            return;
        }
        var rank = shape.Length;
        if (rank == 0)
        {
            dst[0] = src[offset];
            return;
        }
        // Dimensions that are contiguous with the next one (stride = next stride × next size) merge: a
        // channel shuffle then copies whole planes instead of rows of W floats.
        Span<int> mergedShape = stackalloc int[rank];
        Span<int> mergedStrides = stackalloc int[rank];
        var m = 0;
        for (var k = 0; k < rank; k++)
        {
            if (m > 0 && mergedStrides[m - 1] == strides[k] * shape[k])
            {
                mergedShape[m - 1] *= shape[k];
                mergedStrides[m - 1] = strides[k];
                continue;
            }
            mergedShape[m] = shape[k];
            mergedStrides[m] = strides[k];
            m++;
        }
        var rows = dst.Length / mergedShape[m - 1];
        if (threads <= 1 || dst.Length < ParallelElements || rows < 2)
        {
            Copy(src, offset, mergedShape[..m], mergedStrides[..m], dst, 0, rows);
            return;
        }
        var (ms, mst) = (mergedShape[..m].ToArray(), mergedStrides[..m].ToArray());
        Threading.CpuParallel.For(rows, threads, (r0, r1) => Copy(src, offset, ms, mst, dst, r0, r1));
    }

    // As ParallelCopy.MinElements: smaller copies stay in L2, where a fork-join costs what it saves.
    private const int ParallelElements = 1 << 17;

    // Rows [r0, r1) of the destination (a row: the last dimension).
    private static void Copy<T>(T[] src, int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, T[] dst, int r0, int r1)
    {
        var rank = shape.Length;
        var n = shape[rank - 1];
        var step = strides[rank - 1];
        Span<int> index = stackalloc int[rank];
        // The odometer at row r0: its digits over the outer dimensions, and the source offset they give.
        var start = offset;
        var rest = r0;
        for (var k = rank - 2; k >= 0; k--)
        {
            index[k] = rest % shape[k];
            rest /= shape[k];
            start += index[k] * strides[k];
        }
        for (var r = r0; r < r1; r++)
        {
            var d = dst.AsSpan(r * n, n);
            if (step == 1)
            {
                src.AsSpan(start, n).CopyTo(d);
            }
            else if (step == 0)
            {
                d.Fill(src[start]);
            }
            else
            {
                for (int i = 0, s = start; i < n; i++, s += step)
                {
                    d[i] = src[s];
                }
            }
            // Advance the odometer over the outer dimensions.
            for (var k = rank - 2; k >= 0; k--)
            {
                index[k]++;
                start += strides[k];
                if (index[k] < shape[k])
                {
                    break;
                }
                start -= strides[k] * shape[k];
                index[k] = 0;
            }
        }
    }
}

/// <summary><see cref="StridedCopy"/> as a typed-array action.</summary>
public readonly struct StridedCopyAction(int offset, int[] shape, int[] strides, int threads = 1) : IArrayAction
{
    public void Run<T>(T[] source, T[] destination) where T : unmanaged => StridedCopy.Run(source, offset, shape, strides, destination, threads);
}
