using DSConvService.Core.Kernels.DSConv;

namespace DSConvService.Core.Tests.Kernels.DSConv;

internal static class DSConvTestData
{
    /// <summary>Uniform integers over the whole signed range of <paramref name="bits"/> bits.</summary>
    public static sbyte[] RandomQ(Random rng, int count, int bits)
    {
        var lo = -(1 << (bits - 1));
        var q = new sbyte[count];
        for (var i = 0; i < count; i++)
        {
            q[i] = (sbyte)rng.Next(lo, -lo);
        }
        return q;
    }

    public static float[] RandomFloats(Random rng, int count, float lo, float hi)
    {
        var a = new float[count];
        for (var i = 0; i < count; i++)
        {
            a[i] = lo + (float)rng.NextDouble() * (hi - lo);
        }
        return a;
    }

    /// <summary>
    /// Activation-like data: normal values with a wide dynamic range across channels, ReLU-like zeros,
    /// whole zero planes (all-zero blocks) and a few large outliers.
    /// </summary>
    public static float[] Activations(Random rng, int count, int plane)
    {
        var x = new float[count];
        for (var i = 0; i < count; i++)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            var v = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            var channel = i / Math.Max(plane, 1);
            v *= MathF.Pow(2f, channel % 7 - 3);
            x[i] = rng.Next(4) == 0 ? 0f : rng.Next(200) == 0 ? v * 64f : v;
        }
        // Zero a run of pixels across all channels: all-zero blocks.
        for (var i = 0; i < count; i += plane)
        {
            for (var p = 0; p < Math.Min(3, plane); p++)
            {
                x[i + p] = 0f;
            }
        }
        return x;
    }

    /// <summary>y of one engine run with scratch that starts dirty (NaN), as a reused buffer would be.</summary>
    public static float[] Run(DSConvEngine engine, ConvShape shape, float[] x, float[]? residual, int threads)
    {
        var y = new float[shape.N * shape.O * shape.OutPixels];
        var scratch = new float[engine.ScratchFloats(shape)];
        scratch.AsSpan().Fill(float.NaN);
        engine.Run(x, shape, y, scratch, threads, residual);
        return y;
    }
}
