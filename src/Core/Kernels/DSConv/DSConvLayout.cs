namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Where everything of one integer DSConv run lives for one input shape. The BFP-quantized input is held
/// padded and "quad-planar": per (image, group, channel block, step of 4 channels) a plane of dwords
/// (4 channels of one pixel per dword, u = m + offset; padding has m = 0), and per (image, group, block)
/// a plane of column scales 2^(e−M+2). Planes of strided layers are phase-split (<see cref="PlaneGeometry"/>),
/// so every layer is an "implicit GEMM": the micro-kernels read the planes in place over the output grid
/// OH × Wq, whose columns ≥ OW are computed and dropped. All offsets are in bytes from the start of the scratch.
/// </summary>
public readonly struct DSConvLayout
{
    private const int Align = 64;
    private const int TileGroupBytes = 512 * 1024;

    /// <summary>32-pixel tiles over one image's output grid OH × Wq (what <see cref="TilesPerImage"/> will be).</summary>
    public static int TilesOf(in ConvShape s)
    {
        var wp = Math.Max(s.W + s.PadLeft, (s.OW - 1) * s.StrideW + (s.KW - 1) * s.DilationW + 1);
        var wq = (wp + s.StrideW - 1) / s.StrideW;
        return (s.OH * wq + TileArgs.Pixels - 1) / TileArgs.Pixels;
    }

    public DSConvLayout(in ConvShape s, PackedWeights w, int workers)
    {
        Workers = workers;
        var hp = Math.Max(s.H + s.PadTop, (s.OH - 1) * s.StrideH + (s.KH - 1) * s.DilationH + 1);
        var wp = Math.Max(s.W + s.PadLeft, (s.OW - 1) * s.StrideW + (s.KW - 1) * s.DilationW + 1);
        var hq = (hp + s.StrideH - 1) / s.StrideH;
        var wq = (wp + s.StrideW - 1) / s.StrideW;
        var phaseLength = hq * wq;
        TilesPerImage = (s.OH * wq + TileArgs.Pixels - 1) / TileArgs.Pixels;
        var reach = TilesPerImage * TileArgs.Pixels + (s.KH - 1) * s.DilationH / s.StrideH * wq + (s.KW - 1) * s.DilationW / s.StrideW;
        var phases = s.StrideH * s.StrideW;
        var planeLength = RoundUp((phases - 1) * phaseLength + Math.Max(phaseLength, reach), 16);
        var rowPhases = 0;
        for (var ky = 0; ky < s.KH; ky++)
        {
            rowPhases |= 1 << (ky * s.DilationH % s.StrideH);
        }
        Geometry = new PlaneGeometry(s.StrideH, s.StrideW, hq * s.StrideH, wq * s.StrideW, hq, wq, phaseLength, planeLength, s.PadTop, s.PadLeft, rowPhases);
        Steps = w.StepsPerBlock;
        var units = (long)s.N * s.Groups;
        Nbg = w.Nbg;
        QuantBytesPerGroup = (long)Nbg * Steps * planeLength * 4;
        ScaleBytesPerGroup = (long)Nbg * planeLength * 4;
        QuantOffset = 0;
        ScaleOffset = RoundUp(QuantOffset + units * QuantBytesPerGroup);
        AOffsetsOffset = RoundUp(ScaleOffset + units * ScaleBytesPerGroup);
        SOffsetsOffset = RoundUp(AOffsetsOffset + (long)w.KSteps * 4);
        // Tiles of a group are run against one weight panel after another while they stay in L2.
        var tileFootprint = ((long)w.KSteps + w.KBlocks) * TileArgs.Pixels * 4;
        var groups = (int)((TilesPerImage + Math.Max(1, TileGroupBytes / tileFootprint) - 1) / Math.Max(1, TileGroupBytes / tileFootprint));
        // Work items are (image, group, O-chunk, tile group), split evenly among the workers: a tile-group
        // count that leaves one worker an extra group would idle the other for that long.
        if (units * groups % workers != 0 && groups * workers <= TilesPerImage)
        {
            groups = (groups + workers - 1) / workers * workers;
        }
        TileGroup = (TilesPerImage + groups - 1) / groups;
        TileGroups = (TilesPerImage + TileGroup - 1) / TileGroup;
        WorkerBytes = RoundUp(PackedWeights.Rows * TileArgs.Pixels * 4);
        StoreMapsOffset = RoundUp(SOffsetsOffset + (long)w.KBlocks * 4);
        WorkersOffset = StoreMapsOffset + (long)TilesPerImage * TileStoreMap.Bytes;
        TotalBytes = WorkersOffset + workers * WorkerBytes;
    }

    public int Workers { get; }
    public PlaneGeometry Geometry { get; }

    /// <summary>Width of the output grid the tiles walk (Wq ≥ OW).</summary>
    public int GridWidth => Geometry.Wq;
    public int TilesPerImage { get; }
    public int TileGroup { get; }
    public int TileGroups { get; }
    public int PlaneLength => Geometry.PlaneLength;
    public int Steps { get; }
    public int Nbg { get; }
    public long QuantBytesPerGroup { get; }
    public long ScaleBytesPerGroup { get; }
    public long QuantOffset { get; }
    public long ScaleOffset { get; }
    public long AOffsetsOffset { get; }
    public long SOffsetsOffset { get; }
    public long WorkersOffset { get; }

    /// <summary>One <see cref="TileStoreMap"/> per tile of an image.</summary>
    public long StoreMapsOffset { get; }
    public long WorkerBytes { get; }
    public long TotalBytes { get; }

    /// <summary>Byte offset of the quantized plane of (image·groups + group) unit, block j, step st.</summary>
    public long QuantPlane(int unit, int j, int st) => QuantOffset + unit * QuantBytesPerGroup + ((long)j * Steps + st) * PlaneLength * 4;

    public long ScalePlane(int unit, int j) => ScaleOffset + unit * ScaleBytesPerGroup + (long)j * PlaneLength * 4;

    private static long RoundUp(long v) => (v + Align - 1) / Align * Align;

    private static int RoundUp(int v, int a) => (v + a - 1) / a * a;
}
