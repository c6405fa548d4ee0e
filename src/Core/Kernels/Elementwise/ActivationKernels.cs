using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.Elementwise;

/// <summary>Float activations over spans (in place allowed: x and y may be the same span).</summary>
public static class ActivationKernels
{
    /// <summary>y = max(x, 0).</summary>
    public static void Relu(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);

    /// <summary>y = min(max(x, min), max).</summary>
    public static void Clip(ReadOnlySpan<float> x, Span<float> y, float min, float max)
    {
        TensorPrimitives.Max(x, min, y);
        TensorPrimitives.Min(y, max, y);
    }

    /// <summary>y = x ≥ 0 ? x : alpha·x.</summary>
    public static void LeakyRelu(ReadOnlySpan<float> x, Span<float> y, float alpha)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var a = Vector512.Create(alpha);
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.Create(x.Slice(i, Vector512<float>.Count));
                var r = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(v, Vector512<float>.Zero), v, v * a);
                r.CopyTo(y.Slice(i, Vector512<float>.Count));
            }
        }
        for (; i < x.Length; i++)
        {
            var v = x[i];
            y[i] = v >= 0 ? v : v * alpha;
        }
    }

    /// <summary>y = 1 / (1 + e^−x), with <see cref="VectorExp"/> (TensorPrimitives.Sigmoid widens to double).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.Create(x.Slice(i, Vector512<float>.Count));
                Gemm.ActivationVectors.Reciprocal(Vector512<float>.One + VectorExp.Exp(-v)).CopyTo(y.Slice(i, Vector512<float>.Count));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Create(x.Slice(i, Vector256<float>.Count));
                Gemm.ActivationVectors.Reciprocal(Vector256<float>.One + VectorExp.Exp(-v)).CopyTo(y.Slice(i, Vector256<float>.Count));
            }
        }
        for (; i < x.Length; i++)
        {
            y[i] = 1f / (1f + MathF.Exp(-x[i]));
        }
    }

    /// <summary>y = max(0, min(1, alpha·x + beta)).</summary>
    public static void HardSigmoid(ReadOnlySpan<float> x, Span<float> y, float alpha, float beta)
    {
        AffineKernel.ScaleShift(x, alpha, beta, y);
        Clip(y, y, 0f, 1f);
    }

    /// <summary>y = x · max(0, min(1, x/6 + 1/2)).</summary>
    public static void HardSwish(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Overlaps(y))
        {
            // In place: go element by element to keep x intact while writing y.
            for (var i = 0; i < x.Length; i++)
            {
                var v = x[i];
                y[i] = v * Math.Clamp(v / 6f + 0.5f, 0f, 1f);
            }
            return;
        }
        HardSigmoid(x, y, 1f / 6f, 0.5f);
        TensorPrimitives.Multiply(x, y, y);
    }
}
