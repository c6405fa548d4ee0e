using DSConvService.Core.Errors;
using DSConvService.Core.Tensors;
using SkiaSharp;

namespace DSConvService.Core.Imaging;

/// <summary>
/// Turns encoded images (PNG, JPEG, and the other formats Skia reads) into model inputs following
/// <see cref="PreprocessingOptions"/>: decode, resize (centre crop or stretch), pick the colour
/// channels, then x = (pixel·scale − mean[c]) / std[c], as a [1, C, H, W] float tensor.
/// A JPEG's EXIF orientation is applied first, so the model sees the picture as a person does.
/// Images larger than <see cref="MaxPixels"/> are refused from their header, before any decoding.
/// </summary>
public sealed class ImagePreprocessor
{
    public const long DefaultMaxPixels = 40_000_000;

    private readonly float[] _mean;
    private readonly float[] _std;

    public ImagePreprocessor(PreprocessingOptions options, long maxPixels = DefaultMaxPixels)
    {
        if (options.Width <= 0 || options.Height <= 0)
        {
            throw new InvalidOptionsException($"The target size must be positive, got {options.Width}x{options.Height}.");
        }
        Options = options;
        MaxPixels = maxPixels;
        _mean = PerChannel(options.Mean, options.Channels, "mean", 0f);
        _std = PerChannel(options.Std, options.Channels, "std", 1f);
        if (_std.Any(s => s == 0 || !float.IsFinite(s)))
        {
            throw new InvalidOptionsException("Every std value must be finite and non-zero.");
        }
    }

    public PreprocessingOptions Options { get; }
    public long MaxPixels { get; }

    /// <summary>Decodes and preprocesses one image into a [1, C, H, W] tensor.</summary>
    public Tensor Process(ReadOnlySpan<byte> encoded)
    {
        using var decoded = Decode(encoded, MaxPixels, MinimumDecodeScale());
        using var resized = Resize(decoded, Options.Width, Options.Height, Options.Resize);
        return ToTensor(resized);
    }

    /// <summary>Preprocesses several images into one [N, C, H, W] batch.</summary>
    public Tensor ProcessBatch(IEnumerable<byte[]> images) => Stack(images.Select(i => Process(i)).ToList());

    /// <summary>Concatenates [1, C, H, W] (or any equal-shaped [1, ...]) tensors along the first axis.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> items)
    {
        if (items.Count == 0)
        {
            throw new ArgumentException("Nothing to stack.");
        }
        var first = items[0].Shape;
        if (first.Length == 0 || first[0] != 1 || items.Any(t => !t.Shape.AsSpan().SequenceEqual(first)))
        {
            throw new ArgumentException("Only tensors of one shape [1, ...] can be stacked.");
        }
        var per = items[0].Length;
        var data = new float[per * items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            items[i].Floats.CopyTo(data, i * per);
        }
        var shape = (int[])first.Clone();
        shape[0] = items.Count;
        return Tensor.FromFloats(shape, data);
    }

    /// <summary>Width and height from the image header, without decoding the pixels.</summary>
    public static (int Width, int Height) ReadSize(ReadOnlySpan<byte> encoded)
    {
        using var data = SKData.CreateCopy(encoded);
        using var codec = OpenCodec(data);
        return (codec.Info.Width, codec.Info.Height);
    }

    private static SKCodec OpenCodec(SKData data) =>
        SKCodec.Create(data) ?? throw new InvalidImageException("The data is not an image that can be decoded (PNG or JPEG expected).");

    /// <summary>Width and height of the target; the decoder may shrink the image while it still keeps twice that.</summary>
    private (int Width, int Height) MinimumDecodeScale() => (Options.Width * 2, Options.Height * 2);

    /// <summary>
    /// Decodes to 8-bit RGBA after checking the header's pixel count against the limit. Formats that
    /// can decode at a reduced scale (JPEG: 1/2, 1/4, 1/8) do so when the result stays at least
    /// <paramref name="keep"/> in both directions: big photos then never exist at full size in memory.
    /// </summary>
    private static SKBitmap Decode(ReadOnlySpan<byte> encoded, long maxPixels, (int Width, int Height) keep)
    {
        if (encoded.Length == 0)
        {
            throw new InvalidImageException("The image is empty.");
        }
        using var data = SKData.CreateCopy(encoded);
        using var codec = OpenCodec(data);
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        if (w <= 0 || h <= 0)
        {
            throw new InvalidImageException("The image header declares no pixels.");
        }
        if ((long)w * h > maxPixels)
        {
            throw new InvalidImageException($"The image is {w}x{h} = {(long)w * h} pixels, more than the limit of {maxPixels}; send a smaller image.");
        }
        if (codec.EncodedOrigin >= SKEncodedOrigin.LeftTop)
        {
            keep = (keep.Height, keep.Width); // the stored image is sideways
        }
        var shrink = Math.Max((float)keep.Width / w, (float)keep.Height / h);
        if (shrink < 1f)
        {
            var scaled = codec.GetScaledDimensions(shrink);
            if (scaled.Width >= keep.Width && scaled.Height >= keep.Height)
            {
                (w, h) = (scaled.Width, scaled.Height);
            }
        }
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Premul);
        var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            bitmap.Dispose();
            // A truncated file decodes partly (the rest left blank): a prediction on it would look confident and be wrong.
            throw new InvalidImageException(result is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
                ? "The image file is truncated or corrupt (its data ends before all pixels are decoded); send the complete file."
                : $"The image could not be decoded ({result}).");
        }
        return Orientation.Apply(bitmap, codec.EncodedOrigin);
    }

    /// <summary>
    /// Resizes to exactly width x height. Centre crop scales so the image covers the target, then
    /// keeps the middle. An image already at the target scale is copied pixel for pixel.
    /// </summary>
    private static SKBitmap Resize(SKBitmap source, int width, int height, ResizeMode mode)
    {
        var (sw, sh) = (source.Width, source.Height);
        float sx = (float)width / sw, sy = (float)height / sh;
        SKRect src;
        if (mode == ResizeMode.CenterCrop)
        {
            var s = Math.Max(sx, sy);
            sx = sy = s;
            float cw = width / s, ch = height / s;
            src = SKRect.Create((sw - cw) / 2, (sh - ch) / 2, cw, ch);
        }
        else
        {
            src = SKRect.Create(0, 0, sw, sh);
        }
        var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        if (sx == 1f && sy == 1f)
        {
            CopyWindow(source, target, (int)MathF.Round(src.Left), (int)MathF.Round(src.Top));
            return target;
        }
        // Strong reductions need prefiltering (mipmaps); otherwise bicubic keeps edges sharp.
        var sampling = Math.Min(sx, sy) < 0.5f
            ? new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear)
            : new SKSamplingOptions(SKCubicResampler.CatmullRom);
        using var image = SKImage.FromBitmap(source);
        using var canvas = new SKCanvas(target);
        canvas.Clear(SKColors.Black);
        canvas.DrawImage(image, src, SKRect.Create(0, 0, width, height), sampling);
        canvas.Flush();
        return target;
    }

    private static void CopyWindow(SKBitmap source, SKBitmap target, int left, int top)
    {
        var src = source.GetPixelSpan();
        var dst = target.GetPixelSpan();
        var rowBytes = target.Width * 4;
        for (var y = 0; y < target.Height; y++)
        {
            src.Slice((top + y) * source.RowBytes + left * 4, rowBytes).CopyTo(dst.Slice(y * target.RowBytes, rowBytes));
        }
    }

    private Tensor ToTensor(SKBitmap bitmap)
    {
        var (w, h) = (bitmap.Width, bitmap.Height);
        var plane = w * h;
        var channels = Options.Channels;
        var data = new float[channels * plane];
        var pixels = bitmap.GetPixelSpan();
        var scale = Options.Scale;
        // Source byte offset (R=0, G=1, B=2) feeding each output channel.
        int[] order = Options.ColorMode == ColorMode.Bgr ? [2, 1, 0] : [0, 1, 2];
        for (var y = 0; y < h; y++)
        {
            var row = pixels.Slice(y * bitmap.RowBytes, w * 4);
            for (var x = 0; x < w; x++)
            {
                var p = row.Slice(x * 4, 4);
                var i = y * w + x;
                if (channels == 1)
                {
                    // ITU-R 601 luma, as PIL's convert("L"); exact for grey sources (R = G = B).
                    var luma = (p[0] * 299 + p[1] * 587 + p[2] * 114) / 1000f;
                    data[i] = (luma * scale - _mean[0]) / _std[0];
                }
                else
                {
                    for (var c = 0; c < 3; c++)
                    {
                        data[c * plane + i] = (p[order[c]] * scale - _mean[c]) / _std[c];
                    }
                }
            }
        }
        return Tensor.FromFloats([1, channels, h, w], data);
    }

    private static float[] PerChannel(float[] values, int channels, string what, float fallback)
    {
        if (values.Length == 0)
        {
            return Enumerable.Repeat(fallback, channels).ToArray();
        }
        if (values.Length == 1)
        {
            return Enumerable.Repeat(values[0], channels).ToArray();
        }
        return values.Length == channels
            ? (float[])values.Clone()
            : throw new InvalidOptionsException($"{what} has {values.Length} values; give 1 or {channels} (one per channel).");
    }
}
