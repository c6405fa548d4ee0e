using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DSConvService.Core.Kernels.DSConv.Reference;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// x̂ of blocks of one value (depthwise inputs, DESIGN 2.2) on 8 lanes, the numbers of <see cref="BfpReference"/>: x
/// rounded half-even to M−2 fraction bits on its float bits, except that a positive value rounding up to the next
/// power of two keeps the largest mantissa of its own exponent (the clamp at 2^(M−1)−1; a negative one reaches
/// −2^(M−1)). Lanes whose exponent falls outside the format's range or the reference's guard band (denormals,
/// non-finite, tiny and huge values) are left to <see cref="Apply"/>, the reference itself.
/// </summary>
public readonly struct SingleValueBfp256
{
    private readonly Vector256<int> _notLow;
    private readonly Vector256<int> _keep;
    private readonly Vector256<int> _roundDown;
    private readonly Vector256<int> _lowField;
    private readonly Vector256<int> _highField;
    private readonly int _drop;
    private readonly DSConvFormat _format;

    public SingleValueBfp256(DSConvFormat f)
    {
        _format = f;
        _drop = 25 - f.MantissaBits;
        var lowBits = (1 << _drop) - 1;
        _notLow = Vector256.Create(~lowBits);
        _keep = Vector256.Create(0x7FFFFF & ~lowBits);
        _roundDown = Vector256.Create((1 << (_drop - 1)) - 1);
        var (low, high) = FastFields(f);
        _lowField = Vector256.Create(low);
        _highField = Vector256.Create(high);
    }

    /// <summary>The exponent fields the bit form covers: inside the format's exponent range and the guard band of e ∈ [M−120, 120].</summary>
    public static (int Low, int High) FastFields(DSConvFormat f) =>
        (Math.Max(Math.Max(f.MantissaBits + 7, 127 - (1 << (f.ExponentBits - 1))), 1),
         Math.Min(Math.Min(247, 127 + (1 << (f.ExponentBits - 1)) - 1), 254));

    /// <summary>Maps <paramref name="v"/> in place; false when some lane needs <see cref="Apply"/> instead.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryApply(ref Vector256<float> v)
    {
        var bits = v.AsInt32();
        var b = bits & Vector256.Create(0x7FFFFFFF);
        var field = b >>> 23;
        var special = ~Vector256.Equals(b, Vector256<int>.Zero) & (Vector256.LessThan(field, _lowField) | Vector256.GreaterThan(field, _highField));
        // Ties go to the even kept significand; with M = 2 its last bit is the implicit leading one.
        var rounded = (b + _roundDown + (((b | Vector256.Create(0x800000)) >>> _drop) & Vector256.Create(1))) & _notLow;
        var mag = Vector256.ConditionalSelect(Vector256.LessThan(bits, Vector256<int>.Zero), rounded, Vector256.Min(rounded, (b | _keep) & _notLow));
        v = (mag | (bits & Vector256.Create(int.MinValue) & ~Vector256.Equals(mag, Vector256<int>.Zero))).AsSingle();
        return special == Vector256<int>.Zero;
    }

    /// <summary>One value through the reference.</summary>
    public float Apply(float v)
    {
        var e = BfpReference.BlockExponent([v], _format.ExponentBits);
        return BfpReference.Value(BfpReference.Mantissa(v, e, _format.MantissaBits), e, _format.MantissaBits);
    }
}
