using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// What the AVX2 micro-kernel does to its accumulators before the one store of a tile. The kernel is
/// generic over it so that each form is compiled on its own: <see cref="NoTileFinal256"/> gives exactly
/// the plain kernel (the epilogue code is removed at JIT time), and a fused form adds its few
/// instructions after the K loop only, never inside it.
/// </summary>
internal interface ITileFinal256
{
    static abstract bool Active { get; }

    /// <summary>The final value of an accumulator of tile row <paramref name="row"/>.</summary>
    Vector256<float> Apply(Vector256<float> v, int row);
}

/// <summary>Stores the accumulators as they are (the epilogue, if any, runs later over the stripe).</summary>
internal readonly struct NoTileFinal256 : ITileFinal256
{
    public static bool Active => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> v, int row) => v;
}

/// <summary>act(v + rowBias[row]) with the activation a struct of its own, so each is inlined without a switch.</summary>
internal readonly unsafe struct RowBiasTileFinal256<TActivation>(float* rowBias, TActivation activation) : ITileFinal256
    where TActivation : struct, ITileActivation256
{
    public static bool Active => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> v, int row) =>
        activation.Apply(rowBias == null ? v : v + Vector256.Create(rowBias[row]));
}

internal interface ITileActivation256
{
    Vector256<float> Apply(Vector256<float> v);
}

internal readonly struct IdentityActivation256 : ITileActivation256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> v) => v;
}

internal readonly struct ReluActivation256 : ITileActivation256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> v) => Vector256.MaxNative(Vector256<float>.Zero, v);
}

internal readonly struct ClipActivation256(float min, float max) : ITileActivation256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> v) => Vector256.MinNative(Vector256.Create(max), Vector256.MaxNative(Vector256.Create(min), v));
}

/// <summary>The other piecewise-linear activations (LeakyRelu, HardSigmoid, HardSwish) through the shared switch.</summary>
internal readonly struct OtherActivation256(FusedActivation activation) : ITileActivation256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Apply(Vector256<float> v) => ActivationVectors.Apply(v, activation);
}
