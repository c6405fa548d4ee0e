using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
                return Reciprocal(Vector512<float>.One + VectorExp.Exp(-v));
            case ActivationKind.Silu:
                return v * Reciprocal(Vector512<float>.One + VectorExp.Exp(-v));
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
                return Reciprocal(Vector256<float>.One + VectorExp.Exp(-v));
            case ActivationKind.Silu:
                return v * Reciprocal(Vector256<float>.One + VectorExp.Exp(-v));
            case ActivationKind.HardSigmoid:
                return Gate(v, act);
            case ActivationKind.HardSwish:
                return v * Gate(v, act);
            default:
                return v;
        }
    }

    /// <summary>
    /// 1 / d for the sigmoid's d = 1 + e^−v ≥ 1: the hardware estimate and one Newton step (about 23 bits, within
    /// the exp's own error), instead of a division, which alone cost about as much as the rest of a SiLU on Zen 3.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Reciprocal(Vector512<float> d)
    {
        if (!Avx512F.IsSupported)
        {
            return Vector512<float>.One / d;
        }
        var r = Avx512F.Reciprocal14(d);
        return Vector512.FusedMultiplyAdd(r, Vector512.FusedMultiplyAdd(-d, r, Vector512<float>.One), r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Reciprocal(Vector256<float> d)
    {
        if (!Avx.IsSupported)
        {
            return Vector256<float>.One / d;
        }
        var r = Avx.Reciprocal(d);
        return Vector256.FusedMultiplyAdd(r, Vector256.FusedMultiplyAdd(-d, r, Vector256<float>.One), r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Gate(Vector512<float> v, in FusedActivation act) =>
        Vector512.MinNative(Vector512<float>.One, Vector512.MaxNative(Vector512<float>.Zero, Vector512.FusedMultiplyAdd(v, Vector512.Create(act.Alpha), Vector512.Create(act.Beta))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gate(Vector256<float> v, in FusedActivation act) =>
        Vector256.MinNative(Vector256<float>.One, Vector256.MaxNative(Vector256<float>.Zero, Vector256.FusedMultiplyAdd(v, Vector256.Create(act.Alpha), Vector256.Create(act.Beta))));
}
