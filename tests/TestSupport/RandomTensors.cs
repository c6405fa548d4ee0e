using DSConvService.Core.Tensors;

namespace DSConvService.TestSupport;

/// <summary>Seeded random tensors for tests.</summary>
public static class RandomTensors
{
    public static Tensor Uniform(int seed, int[] shape, float low = -1f, float high = 1f)
    {
        var rng = new Random(seed);
        var data = new float[ShapeUtil.Size(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = low + (float)rng.NextDouble() * (high - low);
        }
        return Tensor.FromFloats(shape, data);
    }

    public static Tensor Normal(int seed, int[] shape, float std = 1f)
    {
        var rng = new Random(seed);
        var data = new float[ShapeUtil.Size(shape)];
        for (var i = 0; i < data.Length; i++)
        {
            var u1 = 1.0 - rng.NextDouble();
            var u2 = rng.NextDouble();
            data[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return Tensor.FromFloats(shape, data);
    }

    /// <summary>Largest |a-b| divided by the largest |b| (the parity measure used everywhere).</summary>
    public static double RelativeDiff(Tensor ours, Tensor reference)
    {
        var a = ours.ToFloats();
        var b = reference.ToFloats();
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Lengths differ: {a.Length} vs {b.Length}.");
        }
        double maxDiff = 0, maxRef = 0;
        for (var i = 0; i < a.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(a[i] - b[i]));
            maxRef = Math.Max(maxRef, Math.Abs(b[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }
}
