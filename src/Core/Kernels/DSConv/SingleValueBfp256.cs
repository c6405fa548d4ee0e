using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Kernels.DSConv.Reference;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// x̂ of blocks of one value (depthwise inputs, DESIGN 2.2) on 8 lanes, the numbers of <see cref="BfpReference"/>:
/// x rounded half-even to a multiple of 2^(e+2−M) by adding and subtracting ±2^(e+25−M) (the sum's last bit is that
/// quantum), then held at the largest mantissa of its own exponent (the clamp at 2^(M−1)−1; a negative value may
/// reach −2^(M−1), which min leaves alone). Lanes whose exponent falls outside the format's range or the range where
/// that constant stays finite (denormals, non-finite, tiny and huge values) are left to <see cref="Apply"/>, the
/// reference itself.
/// </summary>
public readonly struct SingleValueBfp256 : IValueMap256
{
    private readonly Vector256<int> _dropExponent;
    private readonly Vector256<int> _keep;
    private readonly Vector256<int> _lowBits;
    private readonly Vector256<uint> _range;
    private readonly DSConvFormat _format;
    private readonly Vector512<int> _dropExponent512;
    private readonly Vector512<int> _keep512;
    private readonly uint _lowLimit;
    private readonly int _highLimit;

    public SingleValueBfp256(DSConvFormat f)
    {
        _format = f;
        var drop = 25 - f.MantissaBits;
        _dropExponent = Vector256.Create(drop << 23);
        _keep = Vector256.Create(0x7FFFFF & ~((1 << drop) - 1));
        var (low, high) = FastFields(f);
        _lowBits = Vector256.Create(low << 23);
        _range = Vector256.Create((uint)(((high + 1) << 23) - 1 - (low << 23)));
        _dropExponent512 = Vector512.Create(drop << 23);
        _keep512 = Vector512.Create(0x7FFFFF & ~((1 << drop) - 1));
        _lowLimit = (uint)((low << 23) - 1);
        _highLimit = ((high + 1) << 23) - 1;
    }

    /// <summary>
    /// The exponent fields the vector forms cover: inside the format's exponent range and the reference's guard band
    /// e ∈ [M−120, 120], and low enough that 2^(e+25−M) is finite.
    /// </summary>
    public static (int Low, int High) FastFields(DSConvFormat f) =>
        (Math.Max(Math.Max(f.MantissaBits + 7, 127 - (1 << (f.ExponentBits - 1))), 1),
         Math.Min(Math.Min(247, 127 + (1 << (f.ExponentBits - 1)) - 1), 229 + f.MantissaBits));

    /// <summary>Maps <paramref name="v"/> in place; the lanes that need <see cref="Apply"/> instead are nonzero in the result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<int> Map(ref Vector256<float> v)
    {
        var bits = v.AsInt32();
        var b = bits & Vector256.Create(0x7FFFFFFF);
        var exponent = bits & Vector256.Create(0x7F800000);
        var bad = Vector256.GreaterThan((b - _lowBits).AsUInt32(), _range).AsInt32() & ~Vector256.Equals(b, Vector256<int>.Zero);
        var c = ((exponent + _dropExponent) | (bits & Vector256.Create(int.MinValue))).AsSingle();
        v = Vector256.Min(v + c - c, (exponent | _keep).AsSingle());
        return bad;
    }

    /// <summary>
    /// The same rounding on 16 lanes. The range is checked once per run of calls: a nonzero |x|'s bits b are in range
    /// when b − 1 ≥ low − 1 (unsigned, so that 0 − 1 wraps above every limit) and b ≤ high, hence the unsigned minimum of
    /// b − 1 and the maximum of b (two instructions a vector instead of a compare per vector).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Map(Vector512<float> v, ref Vector512<uint> minNonZero, ref Vector512<int> max)
    {
        var bits = v.AsInt32();
        var b = bits & Vector512.Create(0x7FFFFFFF);
        var exponent = bits & Vector512.Create(0x7F800000);
        minNonZero = Vector512.Min(minNonZero, (b - Vector512<int>.One).AsUInt32());
        max = Vector512.Max(max, b);
        var c = ((exponent + _dropExponent512) | (bits & Vector512.Create(int.MinValue))).AsSingle();
        return Vector512.MinNative(v + c - c, (exponent | _keep512).AsSingle());
    }

    public bool Fits(Vector512<uint> minNonZero, Vector512<int> max) =>
        Vector512.GreaterThanOrEqualAll(minNonZero, Vector512.Create(_lowLimit)) && Vector512.LessThanOrEqualAll(max, Vector512.Create(_highLimit));

    /// <summary>One value through the reference.</summary>
    public float Apply(float v)
    {
        var e = BfpReference.BlockExponent([v], _format.ExponentBits);
        return BfpReference.Value(BfpReference.Mantissa(v, e, _format.MantissaBits), e, _format.MantissaBits);
    }
}
