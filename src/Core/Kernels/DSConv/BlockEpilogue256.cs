using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The per-block step shared by the 256-bit DSConv micro-kernels (AVX2, its one-step and wide forms, AVX-VNNI):
/// c + ξ · S · (Σ q·u − corr) for 8 pixels of one row, the block's integer sum turned into float once.
/// </summary>
internal static class BlockEpilogue256
{
    // The engine runs these kernels only with AVX2 and FMA (DSConvIsaSupport).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Apply(Vector256<float> c, Vector256<int> sum, Vector256<float> scale, int corr, float xi) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum - Vector256.Create(corr)) * scale, Vector256.Create(xi), c);

    /// <summary><see cref="Apply(Vector256{float}, Vector256{int}, Vector256{float}, int, float)"/> for a sum that already has the correction in it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Apply(Vector256<float> c, Vector256<int> sum, Vector256<float> scale, float xi) =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum) * scale, Vector256.Create(xi), c);
}
