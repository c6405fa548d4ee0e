using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Elementwise;

/// <summary>
/// e^x in single precision for activation epilogues, within about 2 ulp of MathF.Exp on [−87, 88]
/// (clamped outside: e^x then saturates near float.MaxValue or float.Epsilon instead of ∞ or 0).
/// Vector512.Exp widens to double and costs several times more, which made Sigmoid and SiLU the
/// slowest nodes of EfficientNet. Method: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two parts so
/// that r is exact), e^r from a degree-6 polynomial, 2^n built in the exponent bits.
/// </summary>
public static class VectorExp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float Lowest = -87.3f;
    private const float Highest = 88.3f;

    // Taylor-like coefficients of e^r = 1 + r + r²·(c5 + r·(c4 + … r·c0)) fitted on [−ln2/2, ln2/2].
    private const float C0 = 1.9875691500e-4f;
    private const float C1 = 1.3981999507e-3f;
    private const float C2 = 8.3334519073e-3f;
    private const float C3 = 4.1665795894e-2f;
    private const float C4 = 1.6666665459e-1f;
    private const float C5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.MinNative(Vector512.Create(Highest), Vector512.MaxNative(Vector512.Create(Lowest), x));
        var n = Vector512.Round(x * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(C0), r, Vector512.Create(C1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        if (Avx512F.IsSupported)
        {
            // p · 2^n in one vscalefps (n is integral and, after the clamp, a normal exponent: the same float as below).
            return Avx512F.Scale(p, n);
        }
        var scale = (Vector512.ConvertToInt32Native(n) + Vector512.Create(127)) << 23;
        return p * scale.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.MinNative(Vector256.Create(Highest), Vector256.MaxNative(Vector256.Create(Lowest), x));
        var n = Vector256.Round(x * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(C0), r, Vector256.Create(C1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var scale = (Vector256.ConvertToInt32Native(n) + Vector256.Create(127)) << 23;
        return p * scale.AsSingle();
    }
}
