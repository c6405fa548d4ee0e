namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// The padded block of 8 or 16 interleaved channels that the channel-blocked kernels (depthwise, max pooling) read: where
/// each input pixel goes in it, and the border the transpose does not write.
/// </summary>
internal static unsafe class ChannelBlockPadding
{
    /// <summary>
    /// Input pixel (iy, ix) of an <paramref name="height"/>×<paramref name="width"/> plane goes to padded (iy + padTop,
    /// ix + padLeft), or to the drop pixel right after the block (rows × columns pixels) when no output reads it.
    /// </summary>
    public static void FillOffsets(int rows, int columns, int padTop, int padLeft, int height, int width, int* offsets, int lanes = 8)
    {
        var drop = rows * columns * lanes;
        for (var iy = 0; iy < height; iy++)
        {
            var py = iy + padTop;
            for (var ix = 0; ix < width; ix++)
            {
                var px = ix + padLeft;
                offsets[iy * width + ix] = py < rows && px < columns ? (py * columns + px) * lanes : drop;
            }
        }
    }

    /// <summary>
    /// <paramref name="value"/> where the transpose writes nothing: rows above and below the image and the columns left
    /// and right of it (filling the whole block was a second pass over it: 416 KB per block of a 112×112 layer).
    /// </summary>
    public static void FillBorder(float* padded, int rows, int columns, int padTop, int padLeft, int height, int width, float value, int lanes = 8)
    {
        var rowFloats = columns * lanes;
        var top = Math.Min(padTop, rows);
        var bottom = Math.Min(padTop + height, rows);
        new Span<float>(padded, top * rowFloats).Fill(value);
        new Span<float>(padded + (long)bottom * rowFloats, (rows - bottom) * rowFloats).Fill(value);
        var left = Math.Min(padLeft, columns) * lanes;
        var right = Math.Min(padLeft + width, columns) * lanes;
        for (var r = top; r < bottom; r++)
        {
            var row = padded + (long)r * rowFloats;
            new Span<float>(row, left).Fill(value);
            new Span<float>(row + right, rowFloats - right).Fill(value);
        }
    }
}
