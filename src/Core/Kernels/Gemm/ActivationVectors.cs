using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DSConvService.Core.Kernels.Elementwise;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>The vector forms of <see cref="FusedActivation.Apply(float)"/> that every fused epilogue uses.</summary>
public static class ActivationVectors
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Apply(Vector512<float> v, in FusedActivation act)
    {
        switch (act.Kind)
        {
            case ActivationKind.Relu:
                return Vector512.Max(v, Vector512<float>.Zero);
            case ActivationKind.Clip:
                return Vector512.Min(Vector512.Max(v, Vector512.Create(act.Min)), Vector512.Create(act.Max));
            case ActivationKind.LeakyRelu:
                return Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<float>.Zero), v * Vector512.Create(act.Alpha), v);
            case ActivationKind.Sigmoid:
                return Vector512<float>.One / (Vector512<float>.One + VectorExp.Exp(-v));
            case ActivationKind.Silu:
                return v / (Vector512<float>.One + VectorExp.Exp(-v));
            case ActivationKind.HardSigmoid:
                return Gate(v, act);
            case ActivationKind.HardSwish:
                return v * Gate(v, act);
            default:
                return v;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Apply(Vector256<float> v, in FusedActivation act)
    {
        switch (act.Kind)
        {
            case ActivationKind.Relu:
                return Vector256.Max(v, Vector256<float>.Zero);
            case ActivationKind.Clip:
                return Vector256.Min(Vector256.Max(v, Vector256.Create(act.Min)), Vector256.Create(act.Max));
            case ActivationKind.LeakyRelu:
                return Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), v * Vector256.Create(act.Alpha), v);
            case ActivationKind.Sigmoid:
                return Vector256<float>.One / (Vector256<float>.One + VectorExp.Exp(-v));
            case ActivationKind.Silu:
                return v / (Vector256<float>.One + VectorExp.Exp(-v));
            case ActivationKind.HardSigmoid:
                return Gate(v, act);
            case ActivationKind.HardSwish:
                return v * Gate(v, act);
            default:
                return v;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Gate(Vector512<float> v, in FusedActivation act) =>
        Vector512.Min(Vector512.Max(Vector512.FusedMultiplyAdd(v, Vector512.Create(act.Alpha), Vector512.Create(act.Beta)), Vector512<float>.Zero), Vector512<float>.One);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gate(Vector256<float> v, in FusedActivation act) =>
        Vector256.Min(Vector256.Max(Vector256.FusedMultiplyAdd(v, Vector256.Create(act.Alpha), Vector256.Create(act.Beta)), Vector256<float>.Zero), Vector256<float>.One);
}
