using System.IO.Compression;
using System.Net.Http.Headers;
using DSConvService.TestSupport;
using SkiaSharp;

namespace DSConvService.Api.Tests.Support;

/// <summary>Tiny real models and generated image sets for the service tests.</summary>
public static class TestInputs
{
    /// <summary>
    /// A small CNN on 1x16x16 gray images: Conv(1→8, 3x3) → Relu → Conv(8→16, 3x3, stride 2) → Relu →
    /// GlobalAveragePool → Flatten → Gemm(16→10). Seeded random weights.
    /// </summary>
    public static byte[] TinyCnn()
    {
        var random = new Random(7);
        float[] Weights(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
        var b = new ModelBuilder();
        var x = b.Input("input", 1, 1, 16, 16);
        var c1 = b.Node("Conv", [x, b.Floats([8, 1, 3, 3], Weights(72, 0.5f)), b.Floats([8], Weights(8, 0.1f))], new { kernel_shape = new[] { 3, 3 }, pads = new[] { 1, 1, 1, 1 } });
        var r1 = b.Node("Relu", [c1]);
        var c2 = b.Node("Conv", [r1, b.Floats([16, 8, 3, 3], Weights(1152, 0.3f)), b.Floats([16], Weights(16, 0.1f))], new { kernel_shape = new[] { 3, 3 }, strides = new[] { 2, 2 }, pads = new[] { 1, 1, 1, 1 } });
        var r2 = b.Node("Relu", [c2]);
        var pool = b.Node("GlobalAveragePool", [r2]);
        var flat = b.Node("Flatten", [pool]);
        var logits = b.Node("Gemm", [flat, b.Floats([10, 16], Weights(160, 1f)), b.Floats([10], Weights(10, 0.1f))], new { transB = 1 });
        b.Output(logits);
        return b.ToBytes();
    }

    /// <summary>
    /// One Conv (3→<paramref name="outChannels"/>, 3x3, same padding) on a declared [1,3,size,size] input, then
    /// global pooling: a few KB of weights whose activations grow with the square of <paramref name="size"/>.
    /// </summary>
    public static byte[] WideInputConv(int size, int outChannels = 64)
    {
        var random = new Random(3);
        var b = new ModelBuilder();
        var x = b.Input("input", 1, 3, size, size);
        var w = Enumerable.Range(0, outChannels * 27).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var conv = b.Node("Conv", [x, b.Floats([outChannels, 3, 3, 3], w)], new { kernel_shape = new[] { 3, 3 }, pads = new[] { 1, 1, 1, 1 } });
        var pool = b.Node("GlobalAveragePool", [conv]);
        b.Output(b.Node("Flatten", [pool]));
        return b.ToBytes();
    }

    /// <summary>A Conv whose weight takes 4 input channels on a 3-channel input .</summary>
    public static byte[] MismatchedConv()
    {
        var b = new ModelBuilder();
        var x = b.Input("input", 1, 3, 8, 8);
        var conv = b.Node("Conv", [x, b.Floats([8, 4, 3, 3], new float[8 * 4 * 9])], new { kernel_shape = new[] { 3, 3 } });
        b.Output(b.Node("Flatten", [b.Node("GlobalAveragePool", [conv])]));
        return b.ToBytes();
    }

    /// <summary>A model using an operator the service does not implement.</summary>
    public static byte[] WithUnsupportedOperator()
    {
        var b = new ModelBuilder();
        var x = b.Input("input", 1, 1, 8, 8);
        var y = b.Node("Einsum", [x], new { equation = "nchw->nchw" });
        b.Output(y);
        return b.ToBytes();
    }

    /// <summary>The tiny CNN with its first weight marked as external data pointing outside the model folder.</summary>
    public static byte[] WithExternalData()
    {
        var proto = Onnx.ModelProto.Parser.ParseFrom(TinyCnn());
        var init = proto.Graph.Initializer[0];
        init.RawData = Google.Protobuf.ByteString.Empty;
        init.FloatData.Clear();
        init.DataLocation = Onnx.TensorProto.Types.DataLocation.External;
        init.ExternalData.Add(new Onnx.StringStringEntryProto { Key = "location", Value = "../../../etc/passwd" });
        return Google.Protobuf.MessageExtensions.ToByteArray(proto);
    }

    /// <summary>A PNG whose content depends on the class (a bright square whose position follows the class).</summary>
    public static byte[] Png(int width, int height, int variant)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var random = new Random(variant);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var inSquare = Math.Abs(x - (variant % 4) * width / 4 - 2) < 3 && Math.Abs(y - (variant / 4 % 4) * height / 4 - 2) < 3;
                var v = (byte)(inSquare ? 230 : random.Next(0, 60));
                bitmap.SetPixel(x, y, new SKColor(v, v, v));
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>An ImageFolder zip: <paramref name="perClass"/> images in each of folders 0..classes-1.</summary>
    public static byte[] EvaluationZip(int classes, int perClass, int size = 16) =>
        Zip(Enumerable.Range(0, classes).SelectMany(c => Enumerable.Range(0, perClass)
            .Select(i => ($"{c}/{i}.png", Png(size, size, c + 16 * i)))).ToArray());

    /// <summary>The first <paramref name="perClass"/> PNG images of each class folder of an ImageFolder zip, as a new zip.</summary>
    public static byte[] Subset(string zipPath, int perClass)
    {
        using var zip = ZipFile.OpenRead(zipPath);
        var entries = zip.Entries.Where(e => e.FullName.EndsWith(".png", StringComparison.Ordinal))
            .GroupBy(e => e.FullName.Split('/')[0])
            .SelectMany(g => g.Take(perClass))
            .Select(e =>
            {
                using var s = e.Open();
                using var m = new MemoryStream();
                s.CopyTo(m);
                return (e.FullName, m.ToArray());
            }).ToArray();
        return Zip(entries);
    }

    public static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
                s.Write(content);
            }
        }
        return buffer.ToArray();
    }

    public static MultipartFormDataContent Form(byte[] model, byte[]? evaluation = null, byte[]? calibration = null, string? labels = null, string? options = null)
    {
        var form = new MultipartFormDataContent { { File(model), "model", "model.onnx" } };
        if (evaluation is not null) form.Add(File(evaluation), "evaluation", "evaluation.zip");
        if (calibration is not null) form.Add(File(calibration), "calibration", "calibration.zip");
        if (labels is not null) form.Add(File(System.Text.Encoding.UTF8.GetBytes(labels)), "labels", "labels.txt");
        if (options is not null) form.Add(new StringContent(options), "options");
        return form;
    }

    public static ByteArrayContent File(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

}
