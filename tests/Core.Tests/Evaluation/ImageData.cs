using System.IO.Compression;
using DSConvService.Core.Tensors;
using SkiaSharp;

namespace DSConvService.Core.Tests.Evaluation;

/// <summary>Test-side image decoding (until the shared ImagePreprocessor lands): MNIST zips and the 224x224 photos.</summary>
internal static class ImageData
{
    /// <summary>Every PNG of an MNIST zip as [1,1,28,28] with (pixel/255 − 0.1307)/0.3081; label = folder name or -1. Every <paramref name="stride"/>-th entry.</summary>
    public static (List<Tensor> Inputs, List<int> Labels) Mnist(string zipPath, int stride = 1)
    {
        var inputs = new List<Tensor>();
        var labels = new List<int>();
        using var zip = ZipFile.OpenRead(zipPath);
        var entries = zip.Entries.Where(e => e.Name.EndsWith(".png", StringComparison.OrdinalIgnoreCase)).ToList();
        for (var i = 0; i < entries.Count; i += stride)
        {
            var e = entries[i];
            using var s = e.Open();
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            using var bmp = SKBitmap.Decode(ms.ToArray());
            var d = new float[28 * 28];
            for (var y = 0; y < 28; y++)
            {
                for (var x = 0; x < 28; x++)
                {
                    d[y * 28 + x] = (bmp.GetPixel(x, y).Red / 255f - 0.1307f) / 0.3081f;
                }
            }
            inputs.Add(Tensor.FromFloats([1, 1, 28, 28], d));
            var folder = Path.GetDirectoryName(e.FullName);
            labels.Add(int.TryParse(folder, out var l) ? l : -1);
        }
        return (inputs, labels);
    }

    /// <summary>A 224x224 photo as the NuGet ResNet18 wants it: BGR, 0..255 minus the channel means.</summary>
    public static Tensor ResNet18Photo(string path)
    {
        using var bmp = SKBitmap.Decode(path);
        const int size = 224;
        var d = new float[3 * size * size];
        float[] mean = [103.06f, 115.90f, 123.15f];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var c = bmp.GetPixel(x, y);
                d[(0 * size + y) * size + x] = c.Blue - mean[0];
                d[(1 * size + y) * size + x] = c.Green - mean[1];
                d[(2 * size + y) * size + x] = c.Red - mean[2];
            }
        }
        return Tensor.FromFloats([1, 3, size, size], d);
    }
}
