using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Quantization.Reference;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// One-channel blocks (depthwise inputs), where the vector simulations round each value on its float bits: bit for
/// bit the scalar reference, on values that probe every branch of that rounding (ties to even, carries into the
/// exponent on either sign, ±0, denormals, the exponent range of narrow formats, huge and non-finite values).
/// </summary>
public unsafe class BfpSimulatorSinglesTests
{
    public static TheoryData<string, int, int> Cases()
    {
        var data = new TheoryData<string, int, int>();
        foreach (var level in new[] { "avx2", "avx512" })
        {
            foreach (var (m, e) in new[] { (8, 8), (7, 8), (5, 8), (2, 8), (3, 4), (8, 5), (6, 3) })
            {
                data.Add(level, m, e);
            }
        }
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Vector_Rounding_Equals_The_Reference_Bit_For_Bit(string level, int mantissaBits, int exponentBits)
    {
        var caps = CpuCapabilities.Hardware.Capped(level);
        Skip.If(caps.Level != level, $"{level} is not available on this CPU.");
        var f = new DSConvFormat(32, 4, mantissaBits, exponentBits, false);
        var x = Probes(new Random(mantissaBits * 10 + exponentBits), mantissaBits, 4099);
        var vector = Simulate(x, f, caps);
        var scalar = Simulate(x, f, CpuCapabilities.Scalar);
        for (var i = 0; i < x.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(scalar[i]) == BitConverter.SingleToInt32Bits(vector[i]),
                $"x = {x[i]:R} (0x{BitConverter.SingleToInt32Bits(x[i]):X8}): {level} gives {vector[i]:R}, the reference {scalar[i]:R}");
        }
    }

    private static float[] Simulate(float[] x, DSConvFormat f, CpuCapabilities caps)
    {
        var dst = new float[x.Length];
        fixed (float* px = x, pd = dst)
        {
            BfpSimulator.SimulatePixels(px, pd, 1, x.Length, 0, x.Length, f, caps);
        }
        return dst;
    }

    /// <summary>Mostly ordinary activations, with every few values one of the edge cases.</summary>
    internal static float[] Probes(Random rng, int m, int count)
    {
        var x = new float[count];
        for (var i = 0; i < count; i++)
        {
            var e = rng.Next(-30, 30);
            // Exactly halfway between two mantissas (odd and even neighbours), or just below/above the carry.
            var q = rng.Next(1 << (m - 2), 1 << (m - 1));
            var tie = MathF.ScaleB(q + 0.5f, e - (m - 2));
            var carry = MathF.ScaleB((1 << (m - 1)) - 0.5f, e - (m - 2));
            var sign = rng.Next(2) == 0 ? 1f : -1f;
            x[i] = (i % 13) switch
            {
                0 => sign * tie,
                1 => sign * carry,
                2 => sign * BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(carry) - 1),
                3 => i % 2 == 0 ? 0f : -0f,
                4 => sign * BitConverter.Int32BitsToSingle(rng.Next(1, 0x7FFFFF)),
                5 => sign * MathF.ScaleB(1.3f, rng.Next(-126, 128)),
                6 => (i / 13 % 3) switch { 0 => float.PositiveInfinity, 1 => float.NegativeInfinity, _ => float.NaN },
                _ => sign * (float)(rng.NextDouble() * 6),
            };
        }
        return x;
    }
}
