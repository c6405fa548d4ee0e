using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.Elementwise;

public static class AffineKernel
{
    /// <summary>y[i] = x[i]·scale + shift (x and y may be the same span).</summary>
    public static void ScaleShift(ReadOnlySpan<float> x, float scale, float shift, Span<float> y)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var a = Vector512.Create(scale);
            var b = Vector512.Create(shift);
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Vector512.FusedMultiplyAdd(Vector512.Create(x.Slice(i, Vector512<float>.Count)), a, b)
                    .CopyTo(y.Slice(i, Vector512<float>.Count));
            }
        }
        for (; i < x.Length; i++)
        {
            y[i] = MathF.FusedMultiplyAdd(x[i], scale, shift);
        }
    }
}
