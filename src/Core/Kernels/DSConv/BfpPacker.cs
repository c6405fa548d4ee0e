using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Quantization.Reference;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// BFP-quantizes one channel block of one image (DESIGN 2.2) into the padded quad-planar layout of
/// <see cref="DSConvLayout"/>: u = m + 2^(M−1) bytes, 4 channels per dword, and the column scale
/// 2^(e−M+2) per pixel (0 for all-zero blocks and padding). 16 pixels at a time with AVX-512, 8 with AVX2; pixels
/// with denormal, non-finite or tiny values go through <see cref="BfpReference"/> itself.
/// </summary>
public static unsafe class BfpPacker
{
    /// <param name="x">Channel 0 of the block (NCHW plane of H·W floats; channels H·W apart).</param>
    /// <param name="channels">Real channels in the block (the rest of the padded block gets m = 0).</param>
    /// <param name="planes">Step-0 plane of the block (steps are <see cref="PlaneGeometry.PlaneLength"/> dwords apart).</param>
    /// <param name="caps">What the layer may use (null: <see cref="CpuCapabilities.Current"/>).</param>
    /// <param name="rowStart">First input row packed; rows [rowStart, rowEnd) of one block may be packed on different
    /// threads (the padding is written by the range that starts at row 0; it shares no entry with the rows).</param>
    /// <param name="rowEnd">End of the rows packed (−1: h).</param>
    /// <param name="prefetch">Prefetch each channel plane ahead (AVX-512 form): for inputs that come from memory, where the
    /// block's side-by-side planes are more streams than the hardware prefetcher follows.</param>
    /// <param name="gate">Null, or one factor per channel of the block: the values packed are fl(x·gate[c]), the bits a separate
    /// Mul node would give (a squeeze-and-excitation gate folded in, see <see cref="Passes.GateFusion"/>).</param>
    public static void PackBlock(float* x, int channels, int h, int w, DSConvFormat f, int steps,
        uint* planes, float* scales, in PlaneGeometry geo, CpuCapabilities? caps = null, int rowStart = 0, int rowEnd = -1, bool prefetch = false,
        float* gate = null)
    {
        if (rowEnd < 0)
        {
            rowEnd = h;
        }
        caps ??= CpuCapabilities.Current;
        var wide = caps.Avx512;
        var vector = wide || caps.Avx2Fma;
        caps.Census?.Ran(nameof(BfpPacker), wide ? "avx512" : vector ? "avx2" : "scalar");
        var m = f.MantissaBits;
        var offset = 1 << (m - 1);
        var fill = (uint)offset * 0x01010101u;
        var hw = h * w;
        if (rowStart == 0)
        {
            FillPadding(planes, scales, steps, h, w, geo, fill);
        }
        if (!vector)
        {
            for (var p = rowStart * w; p < rowEnd * w; p++)
            {
                PackPixel(x, channels, hw, p, w, f, steps, planes, scales, geo, gate);
            }
            return;
        }
        var lanes = wide ? 16 : 8;
        if (!geo.Strided && geo.PadLeft == 0 && geo.Wq == w)
        {
            // No padding columns: the rows follow each other in the plane as in x, so vectors may cross them (a 7×7 map
            // is 4 vectors instead of 7 masked ones).
            var end = rowEnd * w;
            for (var p = rowStart * w; p < end; p += lanes)
            {
                var count = Math.Min(lanes, end - p);
                var packed = wide
                    ? PackVector(x, channels, hw, 0, p, count, w, f, steps, planes, scales, geo, prefetch, gate)
                    : BfpPackerAvx2.PackVector(x, channels, hw, 0, p, count, w, f, steps, planes, scales, geo, gate);
                if (!packed)
                {
                    for (var i = 0; i < count; i++)
                    {
                        PackPixel(x, channels, hw, p + i, w, f, steps, planes, scales, geo, gate);
                    }
                }
            }
            return;
        }
        // Row by row, 16 (AVX-512) or 8 (AVX2) pixels at a time with a masked tail: every vector lands in one row of the plane.
        var skipRows = geo.RowPhases != -1 && (geo.RowPhases & ((1 << geo.Sh) - 1)) != (1 << geo.Sh) - 1;
        for (var iy = rowStart; iy < rowEnd; iy++)
        {
            // Rows no tap reads (every other row of a 1x1 stride-2 layer) are left unwritten.
            if (skipRows && !geo.RowUsed(geo.PadTop + iy))
            {
                continue;
            }
            for (var ix = 0; ix < w; ix += lanes)
            {
                var count = Math.Min(lanes, w - ix);
                var packed = wide
                    ? PackVector(x, channels, hw, iy, ix, count, w, f, steps, planes, scales, geo, prefetch, gate)
                    : BfpPackerAvx2.PackVector(x, channels, hw, iy, ix, count, w, f, steps, planes, scales, geo, gate);
                if (!packed)
                {
                    for (var i = 0; i < count; i++)
                    {
                        PackPixel(x, channels, hw, iy * w + ix + i, w, f, steps, planes, scales, geo, gate);
                    }
                }
            }
        }
    }

    private static void FillPadding(uint* planes, float* scales, int steps, int h, int w, in PlaneGeometry geo, uint fill)
    {
        if (geo.Strided)
        {
            FillPhasePadding(planes, scales, steps, h, w, geo, fill);
            return;
        }
        var wp = geo.Wp;
        var top = geo.PadTop * wp;
        var bottom = (geo.PadTop + h) * wp;
        // The side pads are a few entries per row: plain stores, a Span per run would cost more than the writes.
        var right = wp - geo.PadLeft - w;
        for (var st = 0; st < steps; st++)
        {
            var plane = planes + (long)st * geo.PlaneLength;
            new Span<uint>(plane, top).Fill(fill);
            new Span<uint>(plane + bottom, geo.PlaneLength - bottom).Fill(fill);
            var row = plane + geo.PadTop * wp;
            for (var iy = 0; iy < h; iy++, row += wp)
            {
                for (var i = 0; i < geo.PadLeft; i++)
                {
                    row[i] = fill;
                }
                for (var i = 0; i < right; i++)
                {
                    row[geo.PadLeft + w + i] = fill;
                }
            }
        }
        new Span<float>(scales, top).Clear();
        new Span<float>(scales + bottom, geo.PlaneLength - bottom).Clear();
        var scaleRow = scales + geo.PadTop * wp;
        for (var iy = 0; iy < h; iy++, scaleRow += wp)
        {
            for (var i = 0; i < geo.PadLeft; i++)
            {
                scaleRow[i] = 0f;
            }
            for (var i = 0; i < right; i++)
            {
                scaleRow[geo.PadLeft + w + i] = 0f;
            }
        }
    }

    /// <summary>Padding of phase-split planes: whole phase rows for padded rows, single entries for padded columns.</summary>
    private static void FillPhasePadding(uint* planes, float* scales, int steps, int h, int w, in PlaneGeometry geo, uint fill)
    {
        for (var iy = 0; iy < geo.Hp; iy++)
        {
            var padRow = iy < geo.PadTop || iy >= geo.PadTop + h;
            if (padRow)
            {
                for (var px = 0; px < geo.Sw; px++)
                {
                    var at = geo.Index(iy, px);
                    for (var st = 0; st < steps; st++)
                    {
                        new Span<uint>(planes + (long)st * geo.PlaneLength + at, geo.Wq).Fill(fill);
                    }
                    new Span<float>(scales + at, geo.Wq).Clear();
                }
                continue;
            }
            for (var ix = 0; ix < geo.Wp; ix++)
            {
                if (ix == geo.PadLeft)
                {
                    ix = geo.PadLeft + w - 1;
                    continue;
                }
                var at = geo.Index(iy, ix);
                for (var st = 0; st < steps; st++)
                {
                    planes[(long)st * geo.PlaneLength + at] = fill;
                }
                scales[at] = 0f;
            }
        }
    }

    /// <summary>Pixels ix .. ix+count−1 of row iy (count ≤ 16); false when one of them needs the scalar path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool PackVector(float* x, int channels, int hw, int iy, int ix, int count, int w, DSConvFormat f, int steps,
        uint* planes, float* scales, in PlaneGeometry geo, bool prefetch, float* gate)
    {
        var m = f.MantissaBits;
        var p0 = iy * w + ix;
        var full = count == 16;
        var mask = full ? Vector512<float>.AllBitsSet : Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();
        var maxAbs = Vector512<float>.Zero;
        for (var c = 0; c < channels; c++)
        {
            if (prefetch)
            {
                Sse.Prefetch0(x + (long)c * hw + p0 + 128);
            }
            maxAbs = Vector512.MaxNative(maxAbs, Vector512.Abs(Load(x + (long)c * hw + p0, full, mask, gate, c)));
        }
        var bits = maxAbs.AsInt32();
        var field = (bits >>> 23) & Vector512.Create(0xFF);
        var zero = Vector512.Equals(bits, Vector512<int>.Zero);
        var emin = -(1 << (f.ExponentBits - 1));
        var emax = (1 << (f.ExponentBits - 1)) - 1;
        var e = Vector512.Min(Vector512.Max(field - Vector512.Create(127), Vector512.Create(emin)), Vector512.Create(emax));
        // Denormals, inf/NaN and exponents whose 2^(M-2-e) or 2^(e-M+2) leave the normal range: exact scalar path.
        var special = (Vector512.Equals(field, Vector512<int>.Zero) | Vector512.Equals(field, Vector512.Create(0xFF))
            | Vector512.LessThan(e, Vector512.Create(m - 120)) | Vector512.GreaterThan(e, Vector512.Create(120))) & ~zero;
        if (special != Vector512<int>.Zero)
        {
            return false;
        }
        e = Vector512.ConditionalSelect(zero, Vector512<int>.Zero, e);
        var inv = ((Vector512.Create(m - 2 + 127) - e) << 23).AsSingle();
        var scale = Vector512.ConditionalSelect(zero, Vector512<int>.Zero, (e + Vector512.Create(127 + 2 - m)) << 23).AsSingle();
        var lo = Vector512.Create(-(1 << (m - 1)));
        var hi = Vector512.Create((1 << (m - 1)) - 1);
        var off = Vector512.Create(1 << (m - 1));
        var dst = geo.Index(geo.PadTop + iy, geo.PadLeft + ix);
        var target = new Target(dst, geo.Sw == 2 ? geo.Index(geo.PadTop + iy, geo.PadLeft + ix + 1) : 0, count, mask);
        // Steps whose 4 channels are all real: branch-free. u lies in [0, 2^M − 1] ⊆ [0, 255] (M ≤ 8), so the
        // shifted bytes need no mask.
        var fullSteps = Math.Min(steps, channels / 4);
        for (var st = 0; st < fullSteps; st++)
        {
            var c0 = x + (long)4 * st * hw + p0;
            var u0 = Vector512.Min(Vector512.Max(Avx512F.ConvertToVector512Int32(Load(c0, full, mask, gate, 4 * st) * inv), lo), hi) + off;
            var u1 = Vector512.Min(Vector512.Max(Avx512F.ConvertToVector512Int32(Load(c0 + hw, full, mask, gate, 4 * st + 1) * inv), lo), hi) + off;
            var u2 = Vector512.Min(Vector512.Max(Avx512F.ConvertToVector512Int32(Load(c0 + 2L * hw, full, mask, gate, 4 * st + 2) * inv), lo), hi) + off;
            var u3 = Vector512.Min(Vector512.Max(Avx512F.ConvertToVector512Int32(Load(c0 + 3L * hw, full, mask, gate, 4 * st + 3) * inv), lo), hi) + off;
            var dword = u0 | (u1 << 8) | (u2 << 16) | (u3 << 24);
            Put(dword.AsUInt32(), planes + (long)st * geo.PlaneLength, iy, ix, target, geo);
        }
        for (var st = fullSteps; st < steps; st++)
        {
            var dword = Vector512<int>.Zero;
            for (var lane = 0; lane < 4; lane++)
            {
                var c = 4 * st + lane;
                Vector512<int> u;
                if (c < channels)
                {
                    // vcvtps2dq rounds half to even (the default MXCSR mode), as the spec's round.
                    var v = Avx512F.ConvertToVector512Int32(Load(x + (long)c * hw + p0, full, mask, gate, c) * inv);
                    u = Vector512.Min(Vector512.Max(v, lo), hi) + off;
                }
                else
                {
                    u = off;
                }
                dword |= (u & Vector512.Create(0xFF)) << (8 * lane);
            }
            Put(dword.AsUInt32(), planes + (long)st * geo.PlaneLength, iy, ix, target, geo);
        }
        Put(scale.AsUInt32(), (uint*)scales, iy, ix, target, geo);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Load(float* p, bool full, Vector512<float> mask, float* gate, int c)
    {
        var v = full ? Vector512.Load(p) : Avx512F.MaskLoad(p, mask, Vector512<float>.Zero);
        return gate == null ? v : v * Vector512.Create(gate[c]);
    }

    /// <summary>Where a run of pixels of one row goes: its first plane index (and, at stride 2 along x, the first odd one).</summary>
    private readonly record struct Target(int Dst, int DstOdd, int Count, Vector512<float> Mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<uint> v, uint* plane, int iy, int ix, in Target t, in PlaneGeometry geo)
    {
        if (geo.Sw == 1)
        {
            // Stride 1 along x (any stride along y): the run is contiguous in the plane.
            if (t.Count == 16)
            {
                v.Store(plane + t.Dst);
            }
            else
            {
                Avx512F.MaskStore(plane + t.Dst, t.Mask.AsUInt32(), v);
            }
        }
        else if (geo.Sw == 2)
        {
            // Stride 2 along x: the even and the odd pixels are contiguous runs of two phases.
            var d = Avx512F.PermuteVar16x32(v, Vector512.Create(0u, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
            var lanes = Vector256<int>.Indices;
            Avx2.MaskStore(plane + t.Dst, Vector256.LessThan(lanes, Vector256.Create((t.Count + 1) / 2)).AsUInt32(), d.GetLower());
            Avx2.MaskStore(plane + t.DstOdd, Vector256.LessThan(lanes, Vector256.Create(t.Count / 2)).AsUInt32(), d.GetUpper());
        }
        else
        {
            Scatter(v, plane, iy, ix, t.Count, geo);
        }
    }

    /// <summary>Strides above 2 along x: lane by lane (kept out of <see cref="Put"/> so that one inlines).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Scatter(Vector512<uint> v, uint* plane, int iy, int ix, int count, in PlaneGeometry geo)
    {
        var values = stackalloc uint[16];
        v.Store(values);
        for (var i = 0; i < count; i++)
        {
            plane[geo.Index(geo.PadTop + iy, geo.PadLeft + ix + i)] = values[i];
        }
    }

    private static void PackPixel(float* x, int channels, int hw, int p, int w, DSConvFormat f, int steps,
        uint* planes, float* scales, in PlaneGeometry geo, float* gate)
    {
        var m = f.MantissaBits;
        Span<float> block = stackalloc float[channels];
        var nonZero = false;
        for (var c = 0; c < channels; c++)
        {
            block[c] = gate == null ? x[(long)c * hw + p] : x[(long)c * hw + p] * gate[c];
            nonZero |= block[c] != 0f;
        }
        var e = BfpReference.BlockExponent(block, f.ExponentBits);
        var iy = p / w;
        var dst = geo.Index(geo.PadTop + iy, geo.PadLeft + p - iy * w);
        var offset = 1 << (m - 1);
        for (var st = 0; st < steps; st++)
        {
            uint dword = 0;
            for (var lane = 0; lane < 4; lane++)
            {
                var c = 4 * st + lane;
                var u = c < channels ? BfpReference.Mantissa(block[c], e, m) + offset : offset;
                dword |= (uint)(u & 0xFF) << (8 * lane);
            }
            planes[(long)st * geo.PlaneLength + dst] = dword;
        }
        scales[dst] = nonZero ? MathF.ScaleB(1f, e - m + 2) : 0f;
    }
}
