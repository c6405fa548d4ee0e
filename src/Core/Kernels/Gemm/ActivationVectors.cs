using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DSConvService.Core.Kernels.Elementwise;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// The vector forms of <see cref="FusedActivation.Apply(float)"/> that every fused epilogue uses. Clamps use
/// the native max/min (one vmaxps/vminps, the bound first so a NaN passes through): the IEEE-exact
/// Vector256.Max is a dozen instructions with spills on AVX2, which made the epilogues cost as much as the GEMM.
/// </summary>
public static class ActivationVectors
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Apply(Vector512<float> v, in FusedActivation act)
    {
        switch (act.Kind)
        {
            case ActivationKind.Relu:
                return Vector512.MaxNative(Vector512<float>.Zero, v);
            case ActivationKind.Clip:
                return Vector512.MinNative(Vector512.Create(act.Max), Vector512.MaxNative(Vector512.Create(act.Min), v));
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
                return Vector256.MaxNative(Vector256<float>.Zero, v);
            case ActivationKind.Clip:
                return Vector256.MinNative(Vector256.Create(act.Max), Vector256.MaxNative(Vector256.Create(act.Min), v));
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
        Vector512.MinNative(Vector512<float>.One, Vector512.MaxNative(Vector512<float>.Zero, Vector512.FusedMultiplyAdd(v, Vector512.Create(act.Alpha), Vector512.Create(act.Beta))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gate(Vector256<float> v, in FusedActivation act) =>
        Vector256.MinNative(Vector256<float>.One, Vector256.MaxNative(Vector256<float>.Zero, Vector256.FusedMultiplyAdd(v, Vector256.Create(act.Alpha), Vector256.Create(act.Beta))));
}
