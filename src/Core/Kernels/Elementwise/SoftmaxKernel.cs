using System.Numerics.Tensors;

namespace DSConvService.Core.Kernels.Elementwise;

public static class SoftmaxKernel
{
    /// <summary>y = exp(x - max x) / Σ exp(x - max x) over one row (y may alias x).</summary>
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length == 0)
        {
            return;
        }
        var max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        TensorPrimitives.Divide(y, TensorPrimitives.Sum(y), y);
    }

    /// <summary>y = x - max x - log Σ exp(x - max x) over one row (y may alias x).</summary>
    public static void LogSoftmax(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length == 0)
        {
            return;
        }
        var max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        var sum = 0.0;
        foreach (var v in y)
        {
            sum += Math.Exp(v);
        }
        TensorPrimitives.Subtract(y, (float)Math.Log(sum), y);
    }
}
