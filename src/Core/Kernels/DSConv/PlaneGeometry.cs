namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Where a padded input pixel (iy, ix) lives in one plane of the quantized input. For strided layers the
/// plane is split into Sh·Sw phases (space-to-depth: phase (iy mod Sh, ix mod Sw) holds the pixels
/// (iy/Sh, ix/Sw) on a Hq×Wq grid), so every tap of a strided convolution reads a contiguous run of the
/// output grid, exactly as a stride-1 convolution does.
/// </summary>
public readonly record struct PlaneGeometry(int Sh, int Sw, int Hp, int Wp, int Hq, int Wq, int PhaseLength, int PlaneLength, int PadTop, int PadLeft, int RowPhases = -1)
{
    public bool Strided => Sh > 1 || Sw > 1;

    /// <summary>Whether any tap reads padded row <paramref name="iy"/> (bit iy mod Sh of <see cref="RowPhases"/>; a 1x1 stride-2 layer reads every other row).</summary>
    public bool RowUsed(int iy) => ((RowPhases >> (iy % Sh)) & 1) != 0;

    public int Index(int iy, int ix) => ((iy % Sh) * Sw + ix % Sw) * PhaseLength + iy / Sh * Wq + ix / Sw;

    /// <summary>Offset of tap (ky, kx) from the output pixel (oy, ox) at grid index oy·Wq + ox.</summary>
    public int TapOffset(int ky, int kx, int dilationH, int dilationW)
    {
        var dy = ky * dilationH;
        var dx = kx * dilationW;
        return ((dy % Sh) * Sw + dx % Sw) * PhaseLength + dy / Sh * Wq + dx / Sw;
    }
}
