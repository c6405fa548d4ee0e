namespace DSConvService.Core.Kernels.Movement;

public static class PadKernel
{
    /// <summary>
    /// dst[o] = src[map(o)] where each output coordinate o_k maps through <paramref name="maps"/>[k]
    /// to a source coordinate, or to -1 meaning "outside": then dst[o] = <paramref name="fill"/>.
    /// The maps encode the padding mode (constant, edge, reflect, wrap) and cropping by negative pads.
    /// </summary>
    public static void Run<T>(T[] src, int[] srcShape, int[][] maps, T[] dst, T fill)
    {
        var rank = srcShape.Length;
        if (dst.Length == 0)
        {
            return;
        }
        if (rank == 0)
        {
            dst[0] = src[0];
            return;
        }
        var strides = new int[rank];
        var acc = 1;
        for (var k = rank - 1; k >= 0; k--)
        {
            strides[k] = acc;
            acc *= srcShape[k];
        }
        var inner = maps[rank - 1];
        var n = inner.Length;
        var rows = dst.Length / n;
        Span<int> index = stackalloc int[rank];
        for (var r = 0; r < rows; r++)
        {
            var row = dst.AsSpan(r * n, n);
            var offset = 0;
            var outside = false;
            for (var k = 0; k < rank - 1; k++)
            {
                var s = maps[k][index[k]];
                if (s < 0)
                {
                    outside = true;
                    break;
                }
                offset += s * strides[k];
            }
            if (outside)
            {
                row.Fill(fill);
            }
            else
            {
                for (var i = 0; i < n; i++)
                {
                    var s = inner[i];
                    row[i] = s < 0 ? fill : src[offset + s];
                }
            }
            for (var k = rank - 2; k >= 0; k--)
            {
                if (++index[k] < maps[k].Length)
                {
                    break;
                }
                index[k] = 0;
            }
        }
    }
}
