using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// B panels of the im2col matrix of one group, written straight into the GEMM's panel layout:
/// B[(c·KH + ky)·KW + kx, n·OH·OW + oy·OW + ox] = x[n, c, iy, ix] with iy = oy·sh − padT + ky·dh,
/// ix = ox·sw − padL + kx·dw (0 outside the image). <paramref name="x"/> points at the group's first input
/// channel of image 0; images follow each other every <paramref name="imageStride"/> floats (the columns of
/// several images side by side make one wider GEMM, so small feature maps reuse each weight panel more).
/// </summary>
public readonly unsafe struct Im2ColPanelSource(float* x, ConvGeometry g, long imageStride = 0) : IPanelSource
{
    public void Pack(int col0, int cols, PanelLayout layout, float* dst)
    {
        var k = 0;
        for (var c = 0; c < g.Channels; c++)
        {
            var plane = x + (long)c * g.InPixels;
            for (var ky = 0; ky < g.KernelH; ky++)
            {
                for (var kx = 0; kx < g.KernelW; kx++, k++)
                {
                    for (var j0 = 0; j0 < cols; j0 += layout.NR)
                    {
                        var valid = Math.Min(layout.NR, cols - j0);
                        var width = layout.Width(valid);
                        var row = dst + (long)j0 * layout.K + (long)k * width;
                        var col = col0 + j0;
                        for (var done = 0; done < valid;)
                        {
                            var n = col / g.OutPixels;
                            var p = col - n * g.OutPixels;
                            var len = Math.Min(valid - done, g.OutPixels - p);
                            PackRow(plane + n * imageStride, ky, kx, p, len, row + done);
                            done += len;
                            col += len;
                        }
                        PanelCopy.Zero(row + valid, width - valid);
                    }
                }
            }
        }
    }

    private void PackRow(float* plane, int ky, int kx, int col0, int valid, float* row)
    {
        var oy = col0 / g.OutWidth;
        var ox = col0 - oy * g.OutWidth;
        var j = 0;
        while (j < valid)
        {
            // One run of output pixels on the same output row.
            var run = Math.Min(valid - j, g.OutWidth - ox);
            var iy = oy * g.StrideH - g.PadTop + ky * g.DilationH;
            var seg = row + j;
            if ((uint)iy >= (uint)g.Height)
            {
                PanelCopy.Zero(seg, run);
            }
            else
            {
                var src = plane + (long)iy * g.Width;
                var ix0 = ox * g.StrideW - g.PadLeft + kx * g.DilationW;
                if (g.StrideW == 1)
                {
                    var lo = Math.Clamp(-ix0, 0, run);
                    var hi = Math.Clamp(g.Width - ix0, lo, run);
                    PanelCopy.Zero(seg, lo);
                    PanelCopy.Copy(src + ix0 + lo, seg + lo, hi - lo);
                    PanelCopy.Zero(seg + hi, run - hi);
                }
                else
                {
                    // ix = ix0 + t·sw must lie in [0, Width).
                    var sw = g.StrideW;
                    var lo = ix0 >= 0 ? 0 : Math.Min(run, (-ix0 + sw - 1) / sw);
                    var hi = g.Width - ix0 <= 0 ? 0 : Math.Clamp((g.Width - ix0 - 1) / sw + 1, lo, run);
                    PanelCopy.Zero(seg, lo);
                    if (sw == 2)
                    {
                        PanelCopy.CopyStride2(src + ix0 + 2 * lo, seg + lo, hi - lo, ix0 + 2 * (hi - 1) + 1 < g.Width);
                    }
                    else
                    {
                        for (var t = lo; t < hi; t++)
                        {
                            seg[t] = src[ix0 + t * sw];
                        }
                    }
                    PanelCopy.Zero(seg + hi, run - hi);
                }
            }
            j += run;
            ox = 0;
            oy++;
        }
    }
}
