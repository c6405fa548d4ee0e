using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// One input plane of a depthwise convolution, zero-padded and split into StrideH × StrideW phase planes of
/// Rows × Pitch floats: phase (ry, rx) holds padded[a·sh + ry, b·sw + rx] at a·Pitch + b. Tap (ky, kx) of output
/// (oy, ox) then reads phase ((ky·dh) mod sh, (kx·dw) mod sw) at (oy + ky·dh / sh)·Pitch + ox + kx·dw / sw: with
/// any stride, every tap of a row of outputs is one contiguous run of floats.
/// </summary>
internal readonly unsafe struct DepthwisePlaneLayout
{
    /// <summary>Floats read past the last phase plane by the 8-wide loads of the last row.</summary>
    private const int Tail = 8;

    public DepthwisePlaneLayout(in ConvGeometry g)
    {
        var qy = (g.KernelH - 1) * g.DilationH / g.StrideH;
        var qx = (g.KernelW - 1) * g.DilationW / g.StrideW;
        Rows = g.OutHeight + qy;
        Pitch = g.OutWidth + qx;
        Phases = g.StrideH * g.StrideW;
        Taps = g.KernelH * g.KernelW;
    }

    public int Rows { get; }
    public int Pitch { get; }
    public int Phases { get; }
    public int Taps { get; }

    private long PhaseFloats => (long)Rows * Pitch;

    /// <summary>Phase planes, the tail, and one row of StrideW column phases used while copying (rounded to 16 floats).</summary>
    public long ScratchFloats => (Phases * PhaseFloats + Tail + (long)Pitch * Phases + 15) / 16 * 16;

    /// <summary>Copies one input plane (g.Height × g.Width) into the phase planes at <paramref name="s"/>.</summary>
    public void Fill(float* plane, in ConvGeometry g, float* s)
    {
        var sw = g.StrideW;
        var row = s + Phases * PhaseFloats + Tail;
        for (var ry = 0; ry < g.StrideH; ry++)
        {
            for (var a = 0; a < Rows; a++)
            {
                var py = a * g.StrideH + ry;
                if (sw == 1)
                {
                    PhaseSplitCopy.Row(plane, py, g, s + ry * PhaseFloats + (long)a * Pitch, Pitch);
                    continue;
                }
                PhaseSplitCopy.Row(plane, py, g, row, Pitch);
                for (var rx = 0; rx < sw; rx++)
                {
                    new ReadOnlySpan<float>(row + (long)rx * Pitch, Pitch).CopyTo(new Span<float>(s + (ry * sw + rx) * PhaseFloats + (long)a * Pitch, Pitch));
                }
            }
        }
    }

    /// <summary>One output plane (g.OutHeight × g.OutWidth) from the phase planes filled by <see cref="Fill"/>.</summary>
    public void Compute(float* s, float* w, float bias, float* y, in ConvGeometry g, FusedActivation act)
    {
        var offsets = stackalloc int[Taps];
        for (var ky = 0; ky < g.KernelH; ky++)
        {
            for (var kx = 0; kx < g.KernelW; kx++)
            {
                var dy = ky * g.DilationH;
                var dx = kx * g.DilationW;
                var phase = dy % g.StrideH * g.StrideW + dx % g.StrideW;
                offsets[ky * g.KernelW + kx] = (int)(phase * PhaseFloats + (long)(dy / g.StrideH) * Pitch + dx / g.StrideW);
            }
        }
        DepthwisePlaneKernel.Rows(s, Pitch, offsets, w, Taps, bias, y, g.OutHeight, g.OutWidth, act);
    }
}
