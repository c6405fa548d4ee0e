using DSConvService.Core.Imaging;
using DSConvService.TestSupport;
using SkiaSharp;
using Xunit;

namespace DSConvService.Core.Tests.Imaging;

public class ImagePreprocessorTests
{
    private static readonly PreprocessingOptions Raw = new()
    {
        Width = 8, Height = 6, Scale = 1f, Mean = [0f], Std = [1f], Resize = ResizeMode.Stretch,
    };

    [Fact]
    public void Png_At_Target_Size_Keeps_Every_Pixel_In_Rgb_Planes()
    {
        var png = TestImages.Encode(8, 6, TestImages.Gradient);
        var t = new ImagePreprocessor(Raw).Process(png);
        Assert.Equal([1, 3, 6, 8], t.Shape);
        for (var y = 0; y < 6; y++)
        {
            for (var x = 0; x < 8; x++)
            {
                var c = TestImages.Gradient(x, y);
                Assert.Equal(c.Red, t.Floats[0 * 48 + y * 8 + x]);
                Assert.Equal(c.Green, t.Floats[1 * 48 + y * 8 + x]);
                Assert.Equal(c.Blue, t.Floats[2 * 48 + y * 8 + x]);
            }
        }
    }

    [Fact]
    public void Bgr_Swaps_The_Planes_And_Normalisation_Is_Per_Channel()
    {
        var png = TestImages.Encode(8, 6, TestImages.Gradient);
        var options = Raw with { ColorMode = ColorMode.Bgr, Scale = 0.5f, Mean = [1f, 2f, 3f], Std = [2f, 4f, 8f] };
        var t = new ImagePreprocessor(options).Process(png);
        var c = TestImages.Gradient(5, 3);
        var i = 3 * 8 + 5;
        Assert.Equal((c.Blue * 0.5f - 1f) / 2f, t.Floats[i]);
        Assert.Equal((c.Green * 0.5f - 2f) / 4f, t.Floats[48 + i]);
        Assert.Equal((c.Red * 0.5f - 3f) / 8f, t.Floats[96 + i]);
    }

    [Fact]
    public void Gray_Uses_Luma_And_One_Channel()
    {
        var png = TestImages.Solid(8, 6, new SKColor(200, 100, 50));
        var t = new ImagePreprocessor(Raw with { ColorMode = ColorMode.Gray, Scale = 1f / 255f, Mean = [0.5f], Std = [0.25f] }).Process(png);
        Assert.Equal([1, 1, 6, 8], t.Shape);
        var luma = (200 * 0.299f + 100 * 0.587f + 50 * 0.114f) / 255f;
        Assert.All(t.Floats, v => Assert.Equal((luma - 0.5f) / 0.25f, v, 4));
    }

    [Fact]
    public void Center_Crop_Keeps_The_Middle_And_Stretch_Keeps_Everything()
    {
        // 60x20: left third red, middle third green, right third blue.
        var png = TestImages.Encode(60, 20, (x, _) => x < 20 ? SKColors.Red : x < 40 ? SKColors.Lime : SKColors.Blue);
        var options = Raw with { Width = 10, Height = 10 };
        var crop = new ImagePreprocessor(options with { Resize = ResizeMode.CenterCrop }).Process(png);
        // Everything kept is from the green middle: G = 255, R = B = 0 away from the borders.
        Assert.All(Enumerable.Range(1, 8).SelectMany(y => Enumerable.Range(1, 8).Select(x => y * 10 + x)), i =>
        {
            Assert.InRange(crop.Floats[i], 0f, 1f);
            Assert.InRange(crop.Floats[100 + i], 254f, 255f);
            Assert.InRange(crop.Floats[200 + i], 0f, 1f);
        });
        var stretch = new ImagePreprocessor(options).Process(png);
        Assert.InRange(stretch.Floats[5 * 10 + 0], 250f, 255f);        // red at the left edge
        Assert.InRange(stretch.Floats[200 + 5 * 10 + 9], 250f, 255f);  // blue at the right edge
    }

    [Fact]
    public void Downscaling_A_Smooth_Image_Is_Close_To_Sampling_It()
    {
        // A 400x300 horizontal ramp reduced to 40x30: each output pixel is near the ramp at its centre.
        var png = TestImages.Encode(400, 300, (x, _) => new SKColor((byte)(x * 255 / 399), 0, 0));
        var t = new ImagePreprocessor(Raw with { Width = 40, Height = 30 }).Process(png);
        for (var x = 2; x < 38; x++)
        {
            var expected = (x * 10 + 4.5f) * 255 / 399;
            Assert.InRange(t.Floats[15 * 40 + x], expected - 3, expected + 3);
        }
    }

    [Fact]
    public void Jpeg_Decodes_Close_To_The_Source_Colour()
    {
        var jpg = TestImages.Solid(16, 16, new SKColor(30, 140, 220), SKEncodedImageFormat.Jpeg);
        var t = new ImagePreprocessor(Raw with { Width = 16, Height = 16 }).Process(jpg);
        Assert.InRange(t.Floats.Take(256).Average(), 27, 33);
        Assert.InRange(t.Floats.Skip(256).Take(256).Average(), 137, 143);
        Assert.InRange(t.Floats.Skip(512).Average(), 217, 223);
    }

    [Fact]
    public void Large_Jpeg_Is_Reduced_While_Decoding_And_Keeps_Its_Content()
    {
        // 1600x1200 quadrants (red, green / blue, white) down to 40x30: each quadrant stays pure away from the seams.
        SKColor Quadrant(int x, int y) => (x < 800, y < 600) switch
        {
            (true, true) => SKColors.Red,
            (false, true) => SKColors.Lime,
            (true, false) => SKColors.Blue,
            _ => SKColors.White,
        };
        var jpg = TestImages.Encode(1600, 1200, Quadrant, SKEncodedImageFormat.Jpeg, 95);
        var t = new ImagePreprocessor(Raw with { Width = 40, Height = 30 }).Process(jpg);
        float At(int c, int x, int y) => t.Floats[c * 1200 + y * 40 + x];
        Assert.InRange(At(0, 5, 5), 240, 255);
        Assert.InRange(At(1, 5, 5), 0, 15);
        Assert.InRange(At(1, 35, 5), 240, 255);
        Assert.InRange(At(2, 5, 25), 240, 255);
        Assert.InRange(At(0, 35, 25), 240, 255);
        Assert.InRange(At(2, 35, 25), 240, 255);
    }

    [Theory]
    [InlineData(1, "RB")]  // upright: red left, blue right
    [InlineData(6, "R/B")] // rotate 90 clockwise: red on top
    [InlineData(8, "B/R")] // rotate 270 clockwise: blue on top
    [InlineData(3, "BR")]  // rotate 180
    public void Jpeg_Exif_Orientation_Is_Applied(int orientation, string layout)
    {
        // 40x20: left half red, right half blue, with an EXIF APP1 segment carrying the orientation.
        var jpg = TestImages.Encode(40, 20, (x, _) => x < 20 ? SKColors.Red : SKColors.Blue, SKEncodedImageFormat.Jpeg, 100);
        var withExif = WithExifOrientation(jpg, orientation);
        var rotated = layout.Contains('/');
        var (w, h) = rotated ? (20, 40) : (40, 20);
        Assert.Equal((40, 20), ImagePreprocessor.ReadSize(withExif)); // the header's (stored) size
        var t = new ImagePreprocessor(Raw with { Width = w, Height = h }).Process(withExif);
        bool IsRed(int x, int y) => t.Floats[y * w + x] > 200 && t.Floats[2 * w * h + y * w + x] < 60;
        bool IsBlue(int x, int y) => t.Floats[y * w + x] < 60 && t.Floats[2 * w * h + y * w + x] > 200;
        var (first, second) = rotated ? ((x: w / 2, y: 3), (x: w / 2, y: h - 4)) : ((x: 3, y: h / 2), (x: w - 4, y: h / 2));
        if (layout is "RB" or "R/B")
        {
            Assert.True(IsRed(first.x, first.y) && IsBlue(second.x, second.y), layout);
        }
        else
        {
            Assert.True(IsBlue(first.x, first.y) && IsRed(second.x, second.y), layout);
        }
    }

    /// <summary>Inserts a big-endian EXIF APP1 segment with one IFD entry (0x0112 Orientation) after the JPEG SOI marker.</summary>
    private static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] app1 =
        [
            0xFF, 0xE1, 0x00, 34,
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'M', (byte)'M', 0x00, 0x2A, 0, 0, 0, 8,
            0, 1,
            0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0, (byte)orientation, 0, 0,
            0, 0, 0, 0,
        ];
        return [.. jpeg.AsSpan(0, 2), .. app1, .. jpeg.AsSpan(2)];
    }

    [Fact]
    public void Undecodable_Data_Is_Refused()
    {
        var p = new ImagePreprocessor(Raw);
        Assert.Throws<InvalidImageException>(() => p.Process("definitely not a picture"u8));
        Assert.Throws<InvalidImageException>(() => p.Process([]));
        var png = TestImages.Solid(8, 8, SKColors.White);
        Assert.Throws<InvalidImageException>(() => p.Process(png.AsSpan(0, 20)));
    }

    [Fact]
    public void Images_Over_The_Pixel_Limit_Are_Refused_From_The_Header()
    {
        var png = TestImages.Solid(100, 50, SKColors.White);
        var e = Assert.Throws<InvalidImageException>(() => new ImagePreprocessor(Raw, maxPixels: 4999).Process(png));
        Assert.Contains("5000", e.Message);
        Assert.Equal([1, 3, 6, 8], new ImagePreprocessor(Raw, maxPixels: 5000).Process(png).Shape);
    }

    [Fact]
    public void Huge_Declared_Size_Is_Refused_Without_Decoding()
    {
        // A PNG whose header claims 30000 x 30000 (900 MP) but carries almost no data.
        var png = TestImages.Solid(1, 1, SKColors.White);
        var header = png.ToArray();
        WriteBigEndian(header, 16, 30000);
        WriteBigEndian(header, 20, 30000);
        FixIhdrCrc(header);
        Assert.Equal((30000, 30000), ImagePreprocessor.ReadSize(header));
        var e = Assert.Throws<InvalidImageException>(() => new ImagePreprocessor(Raw).Process(header));
        Assert.Contains("limit", e.Message);
    }

    [Fact]
    public void Batch_Stacks_Images_In_Order()
    {
        var p = new ImagePreprocessor(Raw);
        var a = TestImages.Solid(8, 6, new SKColor(10, 20, 30));
        var b = TestImages.Solid(8, 6, new SKColor(40, 50, 60));
        var t = p.ProcessBatch([a, b, a]);
        Assert.Equal([3, 3, 6, 8], t.Shape);
        Assert.Equal(10f, t.Floats[0]);
        Assert.Equal(40f, t.Floats[144]);
        Assert.Equal(60f, t.Floats[144 + 96]);
        Assert.Equal(10f, t.Floats[288]);
    }

    [SkippableFact]
    public void Real_Photo_At_Model_Size_Matches_A_Direct_Decode()
    {
        var bytes = File.ReadAllBytes(TestData.SharedFile("photos/astronaut.png"));
        var options = new PreprocessingOptions();
        var t = new ImagePreprocessor(options).Process(bytes);
        Assert.Equal([1, 3, 224, 224], t.Shape);
        using var bitmap = SKBitmap.Decode(bytes);
        foreach (var (x, y) in new[] { (0, 0), (17, 200), (111, 112), (223, 223) })
        {
            var c = bitmap.GetPixel(x, y);
            var i = y * 224 + x;
            Assert.Equal((c.Red / 255f - 0.485f) / 0.229f, t.Floats[i], 5);
            Assert.Equal((c.Green / 255f - 0.456f) / 0.224f, t.Floats[224 * 224 + i], 5);
            Assert.Equal((c.Blue / 255f - 0.406f) / 0.225f, t.Floats[2 * 224 * 224 + i], 5);
        }
    }

    [SkippableFact]
    public void Mnist_Png_From_The_Eval_Zip_Is_A_Gray_28x28_Digit()
    {
        var zip = TestData.SharedFile("mnist/mnist-eval-2000.zip");
        using var archive = System.IO.Compression.ZipFile.OpenRead(zip);
        var entry = archive.Entries.First(e => e.FullName.EndsWith(".png", StringComparison.OrdinalIgnoreCase));
        using var ms = new MemoryStream();
        entry.Open().CopyTo(ms);
        var options = new PreprocessingOptions { Width = 28, Height = 28, ColorMode = ColorMode.Gray, Scale = 1f, Mean = [0f], Std = [1f] };
        var t = new ImagePreprocessor(options).Process(ms.ToArray());
        Assert.Equal([1, 1, 28, 28], t.Shape);
        Assert.All(t.Floats, v => Assert.True(v == MathF.Round(v) && v is >= 0 and <= 255));
        Assert.Contains(t.Floats, v => v > 200);
        Assert.True(t.Floats.Count(v => v == 0) > 28 * 28 / 2, "MNIST digits are mostly black background");
    }

    private static void WriteBigEndian(byte[] b, int offset, int value)
    {
        b[offset] = (byte)(value >> 24);
        b[offset + 1] = (byte)(value >> 16);
        b[offset + 2] = (byte)(value >> 8);
        b[offset + 3] = (byte)value;
    }

    /// <summary>Recomputes the CRC of the IHDR chunk (bytes 12..28 are type + data, CRC follows).</summary>
    private static void FixIhdrCrc(byte[] png)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in png.AsSpan(12, 17))
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        WriteBigEndian(png, 29, unchecked((int)~crc));
    }
}
