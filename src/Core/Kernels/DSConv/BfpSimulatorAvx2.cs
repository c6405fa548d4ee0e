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
    /// Values [start, end) (end − start ≥ 8) of blocks of one channel (depthwise inputs), 8 blocks per vector;
    /// vectors holding special values go value by value through <paramref name="reference"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SimulateSingles(float* x, float* dst, int start, int end, DSConvFormat f, delegate*<float*, float*, int, int, DSConvFormat, void> reference)
    {
        var m = f.MantissaBits;
        var byteMask = Vector256.Create(0xFF);
        var bias = Vector256.Create(127);
        var emin = Vector256.Create(-(1 << (f.ExponentBits - 1)));
        var emax = Vector256.Create((1 << (f.ExponentBits - 1)) - 1);
        var tinyE = Vector256.Create(m - 120);
        var hugeE = Vector256.Create(120);
        var invBase = Vector256.Create(m - 2 + 127);
        var scaleBase = Vector256.Create(127 + 2 - m);
        var lo = Vector256.Create(-(1 << (m - 1)));
        var hi = Vector256.Create((1 << (m - 1)) - 1);
        for (var p = start; p < end; p += 8)
        {
            // The last vector overlaps the one before: x and dst are distinct, so recomputing is harmless.
            var p0 = Math.Min(p, end - 8);
            var v = Vector256.Load(x + p0);
            var bits = Vector256.Abs(v).AsInt32();
            var field = (bits >>> 23) & byteMask;
            var zero = Vector256.Equals(bits, Vector256<int>.Zero);
            var e = Vector256.Min(Vector256.Max(field - bias, emin), emax);
            var special = (Vector256.Equals(field, Vector256<int>.Zero) | Vector256.Equals(field, byteMask)
                | Vector256.LessThan(e, tinyE) | Vector256.GreaterThan(e, hugeE)) & ~zero;
            if (special != Vector256<int>.Zero)
            {
                for (var i = 0; i < 8; i++)
                {
                    reference(x, dst, p0 + i, end, f);
                }
                continue;
            }
            e = Vector256.ConditionalSelect(zero, Vector256<int>.Zero, e);
            var inv = ((invBase - e) << 23).AsSingle();
            var scale = ((e + scaleBase) << 23).AsSingle();
            var q = Vector256.Min(Vector256.Max(Avx.ConvertToVector256Int32(v * inv), lo), hi);
            (Vector256.ConvertToSingle(q) * scale).Store(dst + p0);
        }
    }
}
