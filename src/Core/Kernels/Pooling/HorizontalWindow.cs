using System.Numerics.Tensors;

namespace DSConvService.Core.Kernels.Pooling;

/// <summary>The horizontal half of separable pooling, branch-free and vectorised over the output row.</summary>
internal static class HorizontalWindow
{
    /// <summary>
    /// y[ow] = reduce over kw of padded[ow·stride + kw·dilation] where reduce is max (<paramref name="max"/>)
    /// or sum. Strided taps are first gathered into <paramref name="gather"/> (OutputW floats).
    /// </summary>
    public static void Reduce(ReadOnlySpan<float> padded, Span<float> y, int kernel, int stride, int dilation, bool max, Span<float> gather)
    {
        var n = y.Length;
        for (var kw = 0; kw < kernel; kw++)
        {
            var src = padded[(kw * dilation)..];
            ReadOnlySpan<float> taps;
            if (stride == 1)
            {
                taps = src[..n];
            }
            else
            {
                for (var ow = 0; ow < n; ow++)
                {
                    gather[ow] = src[ow * stride];
                }
                taps = gather;
            }
            if (kw == 0)
            {
                taps.CopyTo(y);
            }
            else if (max)
            {
                TensorPrimitives.Max(y, taps, y);
            }
            else
            {
                TensorPrimitives.Add(y, taps, y);
            }
        }
    }
}
