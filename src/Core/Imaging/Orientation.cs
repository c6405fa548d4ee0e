using SkiaSharp;

namespace DSConvService.Core.Imaging;

/// <summary>Turns a decoded bitmap upright according to its EXIF orientation (exact pixel moves, no resampling).</summary>
internal static class Orientation
{
    /// <summary>Returns <paramref name="bitmap"/> itself when it is already upright, else a new bitmap (the input is disposed).</summary>
    public static SKBitmap Apply(SKBitmap bitmap, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or < SKEncodedOrigin.TopLeft or > SKEncodedOrigin.LeftBottom)
        {
            return bitmap;
        }
        float w = bitmap.Width, h = bitmap.Height;
        // x' = ScaleX·x + SkewX·y + TransX, y' = SkewY·x + ScaleY·y + TransY.
        var m = origin switch
        {
            SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, w, 0, 1, 0, 0, 0, 1),      // mirror left-right
            SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, w, 0, -1, h, 0, 0, 1),  // rotate 180
            SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, h, 0, 0, 1),    // mirror top-bottom
            SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),        // transpose
            SKEncodedOrigin.RightTop => new SKMatrix(0, -1, h, 1, 0, 0, 0, 0, 1),      // rotate 90 clockwise
            SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, h, -1, 0, w, 0, 0, 1),  // transverse
            _ => new SKMatrix(0, 1, 0, -1, 0, w, 0, 0, 1),                             // LeftBottom: rotate 270 clockwise
        };
        var swap = origin >= SKEncodedOrigin.LeftTop;
        var upright = new SKBitmap(new SKImageInfo(swap ? bitmap.Height : bitmap.Width, swap ? bitmap.Width : bitmap.Height, bitmap.ColorType, bitmap.AlphaType));
        using (var canvas = new SKCanvas(upright))
        {
            canvas.SetMatrix(m);
            canvas.DrawBitmap(bitmap, 0, 0);
        }
        bitmap.Dispose();
        return upright;
    }
}
