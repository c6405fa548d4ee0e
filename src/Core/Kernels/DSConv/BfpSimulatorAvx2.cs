using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The 8-pixel (AVX2) form of <see cref="BfpSimulator"/>'s vector loop, for machines without AVX-512: the same
/// exponent, mantissa rounding (to nearest even) and clamp as <see cref="DSConvService.Core.Kernels.DSConv.Reference.BfpReference"/>.
/// </summary>
internal static unsafe class BfpSimulatorAvx2
{
    /// <summary>Pixels [p0, p0 + 8) of one channel block; false (nothing written) when one of them needs the scalar reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool SimulateVector(float* x, float* dst, int channels, int hw, int p0, DSConvFormat f)
    {
        var m = f.MantissaBits;
        var maxAbs = Vector256<float>.Zero;
        for (var c = 0; c < channels; c++)
        {
            maxAbs = Vector256.MaxNative(maxAbs, Vector256.Abs(Vector256.Load(x + (long)c * hw + p0)));
        }
        var bits = maxAbs.AsInt32();
        var field = (bits >>> 23) & Vector256.Create(0xFF);
        var zero = Vector256.Equals(bits, Vector256<int>.Zero);
        var e = Vector256.Min(Vector256.Max(field - Vector256.Create(127), Vector256.Create(-(1 << (f.ExponentBits - 1)))),
            Vector256.Create((1 << (f.ExponentBits - 1)) - 1));
        var special = (Vector256.Equals(field, Vector256<int>.Zero) | Vector256.Equals(field, Vector256.Create(0xFF))
            | Vector256.LessThan(e, Vector256.Create(m - 120)) | Vector256.GreaterThan(e, Vector256.Create(120))) & ~zero;
        if (special != Vector256<int>.Zero)
        {
            return false;
        }
        e = Vector256.ConditionalSelect(zero, Vector256<int>.Zero, e);
        var inv = ((Vector256.Create(m - 2 + 127) - e) << 23).AsSingle();
        var scale = ((e + Vector256.Create(127 + 2 - m)) << 23).AsSingle();
        var lo = Vector256.Create(-(1 << (m - 1)));
        var hi = Vector256.Create((1 << (m - 1)) - 1);
        for (var c = 0; c < channels; c++)
        {
            var q = Avx.ConvertToVector256Int32(Vector256.Load(x + (long)c * hw + p0) * inv);
            (Vector256.ConvertToSingle(Vector256.Min(Vector256.Max(q, lo), hi)) * scale).Store(dst + (long)c * hw + p0);
        }
        return true;
    }

    /// <summary>
    /// Values [start, end) (end − start ≥ 8) of blocks of one channel (depthwise inputs), 8 blocks per vector on the float
    /// bits (<see cref="SingleValueBfp256"/>); values it leaves to the reference are redone after the loop, which has
    /// no call in it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SimulateSingles(float* x, float* dst, int start, int end, DSConvFormat f)
    {
        var map = new SingleValueBfp256(f);
        var special = false;
        for (var p = start; p < end; p += 8)
        {
            // The last vector overlaps the one before: x and dst are distinct, so recomputing is harmless.
            var p0 = Math.Min(p, end - 8);
            var v = Vector256.Load(x + p0);
            special |= map.Map(ref v) != Vector256<int>.Zero;
            v.Store(dst + p0);
        }
        if (!special)
        {
            return;
        }
        var (low, high) = SingleValueBfp256.FastFields(f);
        for (var p = start; p < end; p++)
        {
            var b = BitConverter.SingleToInt32Bits(x[p]) & 0x7FFFFFFF;
            if (b != 0 && ((b >>> 23) < low || (b >>> 23) > high))
            {
                dst[p] = map.Apply(x[p]);
            }
        }
    }
}
