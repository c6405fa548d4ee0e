using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>The even lanes of 16 consecutive floats (a stride-2 row) in one AVX2 vector.</summary>
internal static class EvenLanes256
{
    /// <summary>lo[0], lo[2], lo[4], lo[6], hi[0], hi[2], hi[4], hi[6]: vshufps per 128-bit lane, then vpermpd puts the pairs in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Of(Vector256<float> lo, Vector256<float> hi) =>
        Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();
}
