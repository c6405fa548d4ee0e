namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Where everything of one integer DSConv run lives for one input shape. The BFP-quantized input is held
/// padded and "quad-planar": per (image, group, channel block, step of 4 channels) a plane of
/// <see cref="PlaneLength"/> dwords over the padded grid Hp×Wp (4 channels of one pixel per dword,
/// u = m + offset; padding has m = 0), and per (image, group, block) a plane of column scales 2^(e−M+2).
/// Stride-1 layers read it in place ("implicit GEMM" over the padded-width output grid OH×Wp, whose
/// columns ≥ OW are computed and dropped); other strides gather 32-pixel tiles (im2col) per worker.
/// All offsets are in bytes from the start of the scratch memory.
/// </summary>
public readonly struct DSConvLayout
{
    private const int Align = 64;
    private const int TileGroupBytes = 192 * 1024;

    public DSConvLayout(in ConvShape s, PackedWeights w, int workers)
    {
        Workers = workers;
        Hp = Math.Max(s.H + s.PadTop, (s.OH - 1) * s.StrideH + (s.KH - 1) * s.DilationH + 1);
        Wp = Math.Max(s.W + s.PadLeft, (s.OW - 1) * s.StrideW + (s.KW - 1) * s.DilationW + 1);
        Implicit = s.StrideH == 1 && s.StrideW == 1;
        TilesPerImage = Implicit
            ? (s.OH * Wp + TileArgs.Pixels - 1) / TileArgs.Pixels
            : (s.OH * s.OW + TileArgs.Pixels - 1) / TileArgs.Pixels;
        var reach = Implicit ? TilesPerImage * TileArgs.Pixels + (s.KH - 1) * s.DilationH * Wp + (s.KW - 1) * s.DilationW : 0;
        PlaneLength = RoundUp(Math.Max(Hp * Wp, reach), 16);
        Steps = w.StepsPerBlock;
        Nbg = w.Nbg;
        var groupPlanes = (long)Nbg * Steps;
        QuantBytesPerGroup = groupPlanes * PlaneLength * 4;
        ScaleBytesPerGroup = (long)Nbg * PlaneLength * 4;
        var units = (long)s.N * s.Groups;
        QuantOffset = 0;
        ScaleOffset = RoundUp(QuantOffset + units * QuantBytesPerGroup);
        AOffsetsOffset = RoundUp(ScaleOffset + units * ScaleBytesPerGroup);
        SOffsetsOffset = RoundUp(AOffsetsOffset + (long)w.KSteps * 4);
        var tileA = (long)w.KSteps * TileArgs.Pixels * 4;
        var tileS = (long)w.KBlocks * TileArgs.Pixels * 4;
        TileGroup = (int)Math.Clamp(TileGroupBytes / (tileA + tileS), 1, TilesPerImage);
        TileGroups = (TilesPerImage + TileGroup - 1) / TileGroup;
        WorkerBytes = RoundUp(PackedWeights.Rows * TileArgs.Pixels * 4 + (Implicit ? 0 : TileGroup * (tileA + tileS)));
        WorkersOffset = RoundUp(SOffsetsOffset + (long)w.KBlocks * 4);
        TotalBytes = WorkersOffset + workers * WorkerBytes;
    }

    public int Workers { get; }
    public int Hp { get; }
    public int Wp { get; }
    public bool Implicit { get; }
    public int TilesPerImage { get; }
    public int TileGroup { get; }
    public int TileGroups { get; }
    public int PlaneLength { get; }
    public int Steps { get; }
    public int Nbg { get; }
    public long QuantBytesPerGroup { get; }
    public long ScaleBytesPerGroup { get; }
    public long QuantOffset { get; }
    public long ScaleOffset { get; }
    public long AOffsetsOffset { get; }
    public long SOffsetsOffset { get; }
    public long WorkersOffset { get; }
    public long WorkerBytes { get; }
    public long TotalBytes { get; }

    /// <summary>Byte offset of the quantized plane of (image·groups + group) unit, block j, step st.</summary>
    public long QuantPlane(int unit, int j, int st) => QuantOffset + unit * QuantBytesPerGroup + ((long)j * Steps + st) * PlaneLength * 4;

    public long ScalePlane(int unit, int j) => ScaleOffset + unit * ScaleBytesPerGroup + (long)j * PlaneLength * 4;

    private static long RoundUp(long v) => (v + Align - 1) / Align * Align;

    private static int RoundUp(int v, int a) => (v + a - 1) / a * a;
}
