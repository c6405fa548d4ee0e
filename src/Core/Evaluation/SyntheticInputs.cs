using DSConvService.Core.Imaging;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Evaluation;

/// <summary>The fidelity inputs used when no images are given: seeded standard-normal tensors in the model's input space.</summary>
public static class SyntheticInputs
{
    public const int Seed = 12345;

    /// <summary><paramref name="count"/> [1, C, H, W] inputs, the same on every call.</summary>
    public static List<Tensor> Create(PreprocessingOptions p, int count)
    {
        var random = new Random(Seed);
        var list = new List<Tensor>(count);
        for (var s = 0; s < count; s++)
        {
            var data = new float[p.Channels * p.Height * p.Width];
            for (var i = 0; i < data.Length; i++)
            {
                // Box-Muller
                var u1 = 1.0 - random.NextDouble();
                var u2 = random.NextDouble();
                data[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            }
            list.Add(Tensor.FromFloats([1, p.Channels, p.Height, p.Width], data));
        }
        return list;
    }
}
