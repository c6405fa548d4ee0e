using DSConvService.Core.Imaging;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Evaluation;

/// <summary>
/// Inputs made without any image: seeded standard-normal tensors in the model's input space (the
/// fidelity inputs when no images are given), and smooth-noise images that look more like photos to
/// a CNN (the policy's selection inputs when there are no calibration images).
/// </summary>
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

    /// <summary>
    /// <paramref name="count"/> [1, C, H, W] smooth-noise images, the same on every call: pixels in
    /// [0, 255] from octaves of bilinearly upsampled uniform noise (coarse ones strongest, like the
    /// spectrum of natural images), then normalised exactly as the model's preprocessing does.
    /// </summary>
    public static List<Tensor> SmoothNoise(PreprocessingOptions p, int count, int seed = Seed)
    {
        var random = new Random(seed);
        var (c, h, w) = (p.Channels, p.Height, p.Width);
        var list = new List<Tensor>(count);
        for (var s = 0; s < count; s++)
        {
            var data = new float[c * h * w];
            for (var ch = 0; ch < c; ch++)
            {
                var plane = data.AsSpan(ch * h * w, h * w);
                var amplitude = 1.0;
                for (var grid = 2; grid <= Math.Max(2, Math.Min(h, w) / 2); grid *= 2, amplitude *= 0.55)
                {
                    AddOctave(plane, h, w, grid, amplitude, random);
                }
                Stretch(plane);
            }
            // Same formula as the image preprocessor: x = (pixel · scale − mean[c]) / std[c].
            for (var ch = 0; ch < c; ch++)
            {
                var mean = p.Mean[p.Mean.Length == 1 ? 0 : ch];
                var std = p.Std[p.Std.Length == 1 ? 0 : ch];
                var plane = data.AsSpan(ch * h * w, h * w);
                for (var i = 0; i < plane.Length; i++)
                {
                    plane[i] = (plane[i] * p.Scale - mean) / std;
                }
            }
            list.Add(Tensor.FromFloats([1, c, h, w], data));
        }
        return list;
    }

    private static void AddOctave(Span<float> plane, int h, int w, int grid, double amplitude, Random random)
    {
        var g = new float[(grid + 1) * (grid + 1)];
        for (var i = 0; i < g.Length; i++)
        {
            g[i] = (float)((random.NextDouble() * 2 - 1) * amplitude);
        }
        for (var y = 0; y < h; y++)
        {
            var gy = (double)y * grid / Math.Max(1, h - 1);
            var y0 = Math.Min((int)gy, grid - 1);
            var fy = (float)(gy - y0);
            for (var x = 0; x < w; x++)
            {
                var gx = (double)x * grid / Math.Max(1, w - 1);
                var x0 = Math.Min((int)gx, grid - 1);
                var fx = (float)(gx - x0);
                var a = g[y0 * (grid + 1) + x0] * (1 - fx) + g[y0 * (grid + 1) + x0 + 1] * fx;
                var b = g[(y0 + 1) * (grid + 1) + x0] * (1 - fx) + g[(y0 + 1) * (grid + 1) + x0 + 1] * fx;
                plane[y * w + x] += a * (1 - fy) + b * fy;
            }
        }
    }

    // Maps the plane linearly onto the pixel range [0, 255].
    private static void Stretch(Span<float> plane)
    {
        float lo = float.MaxValue, hi = float.MinValue;
        foreach (var v in plane)
        {
            lo = Math.Min(lo, v);
            hi = Math.Max(hi, v);
        }
        var k = hi > lo ? 255f / (hi - lo) : 0f;
        for (var i = 0; i < plane.Length; i++)
        {
            plane[i] = (plane[i] - lo) * k;
        }
    }
}
