using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.Pooling;

/// <summary>The reduction of a pooling window (max or sum), scalar and 16 or 8 floats at a time.</summary>
internal interface IPoolReduction
{
    static abstract float Apply(float a, float b);
    static abstract Vector512<float> Apply(Vector512<float> a, Vector512<float> b);
    static abstract Vector256<float> Apply(Vector256<float> a, Vector256<float> b);
}

internal readonly struct MaxReduction : IPoolReduction
{
    public static float Apply(float a, float b) => MathF.Max(a, b);

    // vmaxps: the window never holds NaN in the models we serve; ONNX Runtime's MLAS uses the same instruction.
    public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);
    public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);
}

internal readonly struct SumReduction : IPoolReduction
{
    public static float Apply(float a, float b) => a + b;
    public static Vector512<float> Apply(Vector512<float> a, Vector512<float> b) => a + b;
    public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b) => a + b;
}
