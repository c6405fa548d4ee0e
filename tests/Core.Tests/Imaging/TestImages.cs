using SkiaSharp;

namespace DSConvService.Core.Tests.Imaging;

/// <summary>Images generated in code: every pixel's colour is a known function of its position.</summary>
internal static class TestImages
{
    /// <summary>R = x mod 256, G = y mod 256, B = (x + y) mod 256, fully opaque.</summary>
    public static SKColor Gradient(int x, int y) => new((byte)(x % 256), (byte)(y % 256), (byte)((x + y) % 256), 255);

    public static byte[] Encode(int width, int height, Func<int, int, SKColor> color, SKEncodedImageFormat format = SKEncodedImageFormat.Png, int quality = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, color(x, y));
            }
        }
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    public static byte[] Solid(int width, int height, SKColor color, SKEncodedImageFormat format = SKEncodedImageFormat.Png) =>
        Encode(width, height, (_, _) => color, format);
}
