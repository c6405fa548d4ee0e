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
}
