using System.IO.Compression;
using SkiaSharp;

namespace DSConvService.Worker.Tests.Support;

/// <summary>Builds test zips and PNGs.</summary>
public static class Zips
{
    public static byte[] Png(int width, int height, byte shade)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
        bitmap.Erase(new SKColor(shade, shade, shade));
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static void Write(string path, params (string Name, byte[] Content)[] entries)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        foreach (var (name, content) in entries)
        {
            var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
            using var s = entry.Open();
            s.Write(content);
        }
    }
}
