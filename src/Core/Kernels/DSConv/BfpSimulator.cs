using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Quantization.Reference;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// x̂ of one channel block written as floats (DESIGN 2.2, the same numbers as <see cref="BfpReference.Simulate"/>):
/// 16 pixels at a time with AVX-512 (8 with AVX2, <see cref="BfpSimulatorAvx2"/>), special pixels (denormal, non-finite, tiny) through the reference itself.
/// </summary>
public static unsafe class BfpSimulator
{
    /// <param name="x">Channel 0 of the block (channels H·W apart); <paramref name="dst"/> has the same layout.</param>
    public static void SimulateBlock(float* x, float* dst, int channels, int hw, DSConvFormat f, CpuCapabilities? caps = null) =>
        SimulatePixels(x, dst, channels, hw, 0, hw, f, caps);

    /// <summary>
    /// Pixels [<paramref name="start"/>, <paramref name="end"/>) of one channel block (each pixel is independent,
    /// so ranges of one block can run on different threads).
    /// </summary>
    /// <param name="caps">What the layer may use (null: <see cref="CpuCapabilities.Current"/>).</param>
    public static void SimulatePixels(float* x, float* dst, int channels, int hw, int start, int end, DSConvFormat f, CpuCapabilities? caps = null)
    {
        caps ??= CpuCapabilities.Current;
        if (caps.Avx512 && end - start >= 16 && channels == 1)
        {
            caps.Census?.Ran(nameof(BfpSimulator), "avx512");
            SimulateSingles(x, dst, start, end, f);
            return;
        }
        if (caps.Avx512 && end - start >= 16)
        {
            caps.Census?.Ran(nameof(BfpSimulator), "avx512");
            for (var p = start; p < end; p += 16)
            {
                var p0 = Math.Min(p, end - 16);
                if (!SimulateVector(x, dst, channels, hw, p0, f))
                {
                    for (var i = 0; i < 16; i++)
                    {
                        SimulatePixel(x, dst, channels, hw, p0 + i, f);
                    }
                }
            }
            return;
        }
        if (caps.Avx2Fma && end - start >= 8 && channels == 1)
        {
            caps.Census?.Ran(nameof(BfpSimulator), "avx2");
            BfpSimulatorAvx2.SimulateSingles(x, dst, start, end, f);
            return;
        }
        if (caps.Avx2Fma && end - start >= 8)
        {
            caps.Census?.Ran(nameof(BfpSimulator), "avx2");
            for (var p = start; p < end; p += 8)
            {
                var p0 = Math.Min(p, end - 8);
                if (!BfpSimulatorAvx2.SimulateVector(x, dst, channels, hw, p0, f))
                {
                    for (var i = 0; i < 8; i++)
                    {
                        SimulatePixel(x, dst, channels, hw, p0 + i, f);
                    }
                }
            }
            return;
        }
        caps.Census?.Ran(nameof(BfpSimulator), "scalar");
        for (var p = start; p < end; p++)
        {
            SimulatePixel(x, dst, channels, hw, p, f);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool SimulateVector(float* x, float* dst, int channels, int hw, int p0, DSConvFormat f)
    {
        var m = f.MantissaBits;
        var maxAbs = Vector512<float>.Zero;
        for (var c = 0; c < channels; c++)
        {
            maxAbs = Vector512.MaxNative(maxAbs, Vector512.Abs(Vector512.Load(x + (long)c * hw + p0)));
        }
        var bits = maxAbs.AsInt32();
        var field = (bits >>> 23) & Vector512.Create(0xFF);
        var zero = Vector512.Equals(bits, Vector512<int>.Zero);
        var e = Vector512.Min(Vector512.Max(field - Vector512.Create(127), Vector512.Create(-(1 << (f.ExponentBits - 1)))),
            Vector512.Create((1 << (f.ExponentBits - 1)) - 1));
        var special = (Vector512.Equals(field, Vector512<int>.Zero) | Vector512.Equals(field, Vector512.Create(0xFF))
            | Vector512.LessThan(e, Vector512.Create(m - 120)) | Vector512.GreaterThan(e, Vector512.Create(120))) & ~zero;
        if (special != Vector512<int>.Zero)
        {
            return false;
        }
        e = Vector512.ConditionalSelect(zero, Vector512<int>.Zero, e);
        var inv = ((Vector512.Create(m - 2 + 127) - e) << 23).AsSingle();
        var scale = ((e + Vector512.Create(127 + 2 - m)) << 23).AsSingle();
        var lo = Vector512.Create(-(1 << (m - 1)));
        var hi = Vector512.Create((1 << (m - 1)) - 1);
        for (var c = 0; c < channels; c++)
        {
            var q = Avx512F.ConvertToVector512Int32(Vector512.Load(x + (long)c * hw + p0) * inv);
            (Vector512.ConvertToSingle(Vector512.Min(Vector512.Max(q, lo), hi)) * scale).Store(dst + (long)c * hw + p0);
        }
        return true;
    }

    /// <summary>
    /// Values [start, end) (end − start ≥ 16) of blocks of one channel (depthwise inputs): the 16-lane form of
    /// <see cref="SingleValueBfp256"/> (x ± 2^(e+25−M) ∓ 2^(e+25−M), held at the exponent's largest mantissa). Values it
    /// leaves to the reference are redone after the loop, which has no call in it (so the JIT keeps the constants in
    /// registers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SimulateSingles(float* x, float* dst, int start, int end, DSConvFormat f)
    {
        var drop = 25 - f.MantissaBits;
        var dropExponent = Vector512.Create(drop << 23);
        var keep = Vector512.Create(0x7FFFFF & ~((1 << drop) - 1));
        var (low, high) = SingleValueBfp256.FastFields(f);
        var lowBits = Vector512.Create(low << 23);
        var range = Vector512.Create((uint)(((high + 1) << 23) - 1 - (low << 23)));
        var anySpecial = Vector512<int>.Zero;
        for (var p = start; p < end; p += 16)
        {
            // The last vector overlaps the one before: x and dst are distinct, so recomputing is harmless.
            var p0 = Math.Min(p, end - 16);
            var v = Vector512.Load(x + p0);
            var bits = v.AsInt32();
            var b = bits & Vector512.Create(0x7FFFFFFF);
            var exponent = bits & Vector512.Create(0x7F800000);
            anySpecial |= Vector512.GreaterThan((b - lowBits).AsUInt32(), range).AsInt32() & ~Vector512.Equals(b, Vector512<int>.Zero);
            var c = ((exponent + dropExponent) | (bits & Vector512.Create(int.MinValue))).AsSingle();
            Vector512.Min(v + c - c, (exponent | keep).AsSingle()).Store(dst + p0);
        }
        if (anySpecial == Vector512<int>.Zero)
        {
            return;
        }
        for (var p = start; p < end; p++)
        {
            var b = BitConverter.SingleToInt32Bits(x[p]) & 0x7FFFFFFF;
            var field = b >>> 23;
            if (b != 0 && (field < low || field > high))
            {
                SimulatePixel(x, dst, 1, end, p, f);
            }
        }
    }

    private static void SimulatePixel(float* x, float* dst, int channels, int hw, int p, DSConvFormat f)
    {
        Span<float> block = stackalloc float[channels];
        for (var c = 0; c < channels; c++)
        {
            block[c] = x[(long)c * hw + p];
        }
        var e = BfpReference.BlockExponent(block, f.ExponentBits);
        for (var c = 0; c < channels; c++)
        {
            dst[(long)c * hw + p] = BfpReference.Value(BfpReference.Mantissa(block[c], e, f.MantissaBits), e, f.MantissaBits);
        }
    }
}
