using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The 8-pixel (AVX2) form of <see cref="BfpPacker"/>'s vector loop, for machines without AVX-512: the same
/// exponent, rounding (to nearest even), clamp and quad-planar layout.
/// </summary>
internal static unsafe class BfpPackerAvx2
{
    /// <summary>Pixels ix .. ix+count−1 of row iy (count ≤ 8); false (nothing written) when one of them needs the scalar path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    /// <param name="gate">Null, or one factor per channel (see <see cref="BfpPacker.PackBlock"/>).</param>
    public static bool PackVector(float* x, int channels, int hw, int iy, int ix, int count, int w, DSConvFormat f, int steps,
        uint* planes, float* scales, in PlaneGeometry geo, float* gate = null)
    {
        var m = f.MantissaBits;
        var p0 = iy * w + ix;
        var full = count == 8;
        var mask = full ? Vector256<float>.AllBitsSet : Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();
        var maxAbs = Vector256<float>.Zero;
        for (var c = 0; c < channels; c++)
        {
            maxAbs = Vector256.MaxNative(maxAbs, Vector256.Abs(Load(x + (long)c * hw + p0, full, mask, gate, c)));
        }
        var bits = maxAbs.AsInt32();
        var field = (bits >>> 23) & Vector256.Create(0xFF);
        var zero = Vector256.Equals(bits, Vector256<int>.Zero);
        var e = Vector256.Min(Vector256.Max(field - Vector256.Create(127), Vector256.Create(-(1 << (f.ExponentBits - 1)))),
            Vector256.Create((1 << (f.ExponentBits - 1)) - 1));
        // Denormals, inf/NaN and exponents whose 2^(M-2-e) or 2^(e-M+2) leave the normal range: exact scalar path.
        var special = (Vector256.Equals(field, Vector256<int>.Zero) | Vector256.Equals(field, Vector256.Create(0xFF))
            | Vector256.LessThan(e, Vector256.Create(m - 120)) | Vector256.GreaterThan(e, Vector256.Create(120))) & ~zero;
        if (special != Vector256<int>.Zero)
        {
            return false;
        }
        e = Vector256.ConditionalSelect(zero, Vector256<int>.Zero, e);
        var inv = ((Vector256.Create(m - 2 + 127) - e) << 23).AsSingle();
        var scale = Vector256.ConditionalSelect(zero, Vector256<int>.Zero, (e + Vector256.Create(127 + 2 - m)) << 23).AsSingle();
        var lo = Vector256.Create(-(1 << (m - 1)));
        var hi = Vector256.Create((1 << (m - 1)) - 1);
        var off = Vector256.Create(1 << (m - 1));
        var dst = geo.Index(geo.PadTop + iy, geo.PadLeft + ix);
        var dstOdd = geo.Sw == 2 ? geo.Index(geo.PadTop + iy, geo.PadLeft + ix + 1) : 0;
        // Steps whose 4 channels are all real: branch-free; u lies in [0, 2^M − 1] ⊆ [0, 255], so no byte mask.
        var fullSteps = Math.Min(steps, channels / 4);
        for (var st = 0; st < fullSteps; st++)
        {
            var c0 = x + (long)4 * st * hw + p0;
            var u0 = Quantize(Load(c0, full, mask, gate, 4 * st), inv, lo, hi, off);
            var u1 = Quantize(Load(c0 + hw, full, mask, gate, 4 * st + 1), inv, lo, hi, off);
            var u2 = Quantize(Load(c0 + 2L * hw, full, mask, gate, 4 * st + 2), inv, lo, hi, off);
            var u3 = Quantize(Load(c0 + 3L * hw, full, mask, gate, 4 * st + 3), inv, lo, hi, off);
            Put((u0 | (u1 << 8) | (u2 << 16) | (u3 << 24)).AsUInt32(), planes + (long)st * geo.PlaneLength, iy, ix, count, dst, dstOdd, geo);
        }
        for (var st = fullSteps; st < steps; st++)
        {
            var dword = Vector256<int>.Zero;
            for (var lane = 0; lane < 4; lane++)
            {
                var c = 4 * st + lane;
                var u = c < channels ? Quantize(Load(x + (long)c * hw + p0, full, mask, gate, c), inv, lo, hi, off) : off;
                dword |= (u & Vector256.Create(0xFF)) << (8 * lane);
            }
            Put(dword.AsUInt32(), planes + (long)st * geo.PlaneLength, iy, ix, count, dst, dstOdd, geo);
        }
        Put(scale.AsUInt32(), (uint*)scales, iy, ix, count, dst, dstOdd, geo);
        return true;
    }

    // vcvtps2dq rounds half to even (the default MXCSR mode), as the spec's round.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Quantize(Vector256<float> v, Vector256<float> inv, Vector256<int> lo, Vector256<int> hi, Vector256<int> off) =>
        Vector256.Min(Vector256.Max(Avx.ConvertToVector256Int32(v * inv), lo), hi) + off;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load(float* p, bool full, Vector256<float> mask, float* gate, int c)
    {
        var v = full ? Vector256.Load(p) : Avx.MaskLoad(p, mask);
        return gate == null ? v : v * Vector256.Create(gate[c]);
    }


    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector256<uint> v, uint* plane, int iy, int ix, int count, int dst, int dstOdd, in PlaneGeometry geo)
    {
        if (geo.Sw == 1)
        {
            // Stride 1 along x (any stride along y): the run is contiguous in the plane.
            if (count == 8)
            {
                v.Store(plane + dst);
            }
            else
            {
                Avx2.MaskStore(plane + dst, Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsUInt32(), v);
            }
        }
        else if (geo.Sw == 2)
        {
            // Stride 2 along x: the even and the odd pixels are contiguous runs of two phases.
            var d = Avx2.PermuteVar8x32(v, Vector256.Create(0u, 2, 4, 6, 1, 3, 5, 7));
            if (count == 8)
            {
                // Plain stores where they fit: masked ones (vmaskmovps) are microcoded on AMD.
                d.GetLower().Store(plane + dst);
                d.GetUpper().Store(plane + dstOdd);
                return;
            }
            var lanes = Vector128<int>.Indices;
            Avx2.MaskStore(plane + dst, Vector128.LessThan(lanes, Vector128.Create((count + 1) / 2)).AsUInt32(), d.GetLower());
            Avx2.MaskStore(plane + dstOdd, Vector128.LessThan(lanes, Vector128.Create(count / 2)).AsUInt32(), d.GetUpper());
        }
        else
        {
            Scatter(v, plane, iy, ix, count, geo);
        }
    }

    /// <summary>Strides above 2 along x: lane by lane (kept out of <see cref="Put"/> so that one inlines).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Scatter(Vector256<uint> v, uint* plane, int iy, int ix, int count, in PlaneGeometry geo)
    {
        var values = stackalloc uint[8];
        v.Store(values);
        for (var i = 0; i < count; i++)
        {
            plane[geo.Index(geo.PadTop + iy, geo.PadLeft + ix + i)] = values[i];
        }
    }
}
