namespace DSConvService.Core.Kernels.Movement;

public static class SelectKernel
{
    /// <summary>
    /// dst[i] = cond[i] != 0 ? x[i] : y[i] over <paramref name="shape"/>, each operand read through
    /// its own broadcast strides (0 on broadcast dimensions).
    /// </summary>
    public static void Run<T>(long[] cond, int[] condStrides, T[] x, int[] xStrides, T[] y, int[] yStrides, int[] shape, T[] dst)
    {
        var rank = shape.Length;
        Span<int> index = stackalloc int[rank];
        int oc = 0, ox = 0, oy = 0;
        for (var i = 0; i < dst.Length; i++)
        {
            dst[i] = cond[oc] != 0 ? x[ox] : y[oy];
            for (var k = rank - 1; k >= 0; k--)
            {
                index[k]++;
                oc += condStrides[k];
                ox += xStrides[k];
                oy += yStrides[k];
                if (index[k] < shape[k])
                {
                    break;
                }
                oc -= condStrides[k] * shape[k];
                ox -= xStrides[k] * shape[k];
                oy -= yStrides[k] * shape[k];
                index[k] = 0;
            }
        }
    }
}
