namespace DSConvService.Core.Kernels.Movement;

public static class StridedCopy
{
    /// <summary>
    /// Gathers a strided view into a contiguous destination:
    /// dst[i0,…,ik] (row-major over <paramref name="shape"/>) = src[offset + Σ ij·strides[j]].
    /// Strides may be 0 (broadcast) or negative (reversed slices). Serves Transpose, Slice and Expand.
    /// </summary>
    public static void Run<T>(T[] src, int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, T[] dst)
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
        Copy(src, offset, mergedShape[..m], mergedStrides[..m], dst);
    }

    private static void Copy<T>(T[] src, int offset, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, T[] dst)
    {
        var rank = shape.Length;
        var n = shape[rank - 1];
        var step = strides[rank - 1];
        Span<int> index = stackalloc int[rank];
        var rows = dst.Length / n;
        var start = offset;
        for (var r = 0; r < rows; r++)
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
public readonly struct StridedCopyAction(int offset, int[] shape, int[] strides) : IArrayAction
{
    public void Run<T>(T[] source, T[] destination) where T : unmanaged => StridedCopy.Run(source, offset, shape, strides, destination);
}
