using DSConvService.Core.Execution;
using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// Direct fp32 convolution for layers with one group and few input channels (the RGB stem):
/// y[n, o, oy, ox] = act(bias[o] + Σ_{c,ky,kx} w[o, c, ky, kx] · x[n, c, oy·sh − padT + ky·dh, ox·sw − padL + kx·dw]),
/// zero outside x. With K = C·KH·KW small, im2col would copy every input value KH·KW times for a GEMM
/// whose K is short; here the input is copied once into a zero-padded buffer split by column phase (column
/// px = ix + padL goes to phase px mod sw, index px / sw), so the inputs of one tap for consecutive outputs
/// are consecutive floats, and <see cref="FewChannelConvKernel"/> runs 8 channels × 32 pixels per tile
/// (<see cref="FewChannelConvKernel256"/>: 4 × 16 with AVX2).
/// Weights are packed once as [block of 8 output channels][tap][8].
/// </summary>
public sealed unsafe class FewChannelConv
{
    /// <summary>
    /// Most input channels this kernel takes: beyond a few channels K is long enough for the GEMM to amortise
    /// its im2col panels, and the GEMM's 8×48 tile reuses each loaded value more.
    /// </summary>
    public const int MaxChannels = 4;

    /// <summary>
    /// Most input channels of a spatial kernel (larger than 1×1) this kernel also runs where output rows are wide
    /// (<see cref="RowsAreWide"/>): with 16–64 channels the im2col panels cost about as much as the GEMM on them
    /// (resnet_mini, 1 thread: 16–32-channel 3×3 layers at 28×28 and 14×14 0.075 → 0.043 ms per layer; ResNet18's
    /// 64-channel layers at 56×56 −1.1 ms in all; LeNet's 5×5 layers 0.063 → 0.049 ms).
    /// </summary>
    public const int WideRowChannels = 64;

    /// <summary>
    /// Most input channels where output rows are at least <see cref="WideMapWidth"/> wide: there the 8 × 32 tiles are nearly
    /// full and the im2col panels still cost more than the tiles lose (ResNet18's 128-channel 3×3 layers at 28×28, 1 thread:
    /// 1.30–1.38 → 1.18–1.21 ms each; its 128-channel stride-2 layer to 14×14 is slower direct, 0.82–0.84 → 0.98–0.99 ms).
    /// </summary>
    public const int WideMapChannels = 128;

    /// <summary>Output row width from which layers of <see cref="WideRowChannels"/>–<see cref="WideMapChannels"/> channels run direct.</summary>
    public const int WideMapWidth = 28;

    /// <summary>Most taps (C·KH·KW): the tap offset table lives on the stack.</summary>
    public const int MaxTaps = 2048;

    private const int Block = 8;
    private const int TileWidth = 32;

    private readonly float[] _packed;
    private readonly float[] _bias;
    private readonly FusedActivation _activation;

    /// <param name="weights">[O, C, KH, KW] (ONNX layout).</param>
    /// <param name="bias">[O] or null.</param>
    /// <param name="caps">What the layer may use (null: <see cref="CpuCapabilities.Current"/>): AVX-512F picks the 8 × 32 tiles.</param>
    public FewChannelConv(float[] weights, float[]? bias, int outChannels, int channels, int kh, int kw, FusedActivation activation,
        CpuCapabilities? caps = null)
    {
        caps ??= CpuCapabilities.Current;
        Wide = caps.Avx512F;
        if (!Applies(1, channels, kh, kw, caps) && !AppliesToWideRows(1, channels, kh, kw, caps))
        {
            throw new ArgumentException($"A direct few-channel convolution needs AVX-512F or AVX2, at most {MaxChannels} channels " +
                $"({WideMapChannels} with AVX-512F and a spatial kernel) and {MaxTaps} taps.");
        }
        if (weights.Length != (long)outChannels * channels * kh * kw || (bias is not null && bias.Length != outChannels))
        {
            throw new ArgumentException("Weights or bias do not match the layer's shape.");
        }
        OutChannels = outChannels;
        Channels = channels;
        KernelH = kh;
        KernelW = kw;
        _activation = activation;
        var taps = Taps;
        var blocks = (outChannels + Block - 1) / Block;
        _packed = GC.AllocateArray<float>(blocks * taps * Block, pinned: true);
        _bias = GC.AllocateArray<float>(blocks * Block, pinned: true);
        bias?.CopyTo(_bias, 0);
        for (var o = 0; o < outChannels; o++)
        {
            for (var t = 0; t < taps; t++)
            {
                _packed[(o / Block * taps + t) * Block + o % Block] = weights[(long)o * taps + t];
            }
        }
    }

    /// <summary>
    /// True when this kernel runs the layer: AVX-512F or AVX2 with FMA, one group, at most <see cref="MaxChannels"/> input channels
    /// and <see cref="MaxTaps"/> taps. Otherwise the im2col GEMM does.
    /// </summary>
    /// <param name="caps">What the layer may use (null: <see cref="CpuCapabilities.Current"/>).</param>
    public static bool Applies(int groups, int channels, int kh, int kw, CpuCapabilities? caps = null) =>
        Runs(groups, channels, kh, kw, caps) && channels <= MaxChannels;

    /// <summary>
    /// True when the kernel can run the layer and beats the GEMM on it where output rows are wide
    /// (<see cref="RowsAreWide"/>): AVX-512F, one group, a spatial kernel, at most <see cref="WideRowChannels"/> input channels (<see cref="WideMapChannels"/> where rows are <see cref="WideMapWidth"/> wide).
    /// </summary>
    public static bool AppliesToWideRows(int groups, int channels, int kh, int kw, CpuCapabilities? caps = null) =>
        Runs(groups, channels, kh, kw, caps) && (caps ?? CpuCapabilities.Current).Avx512F && channels <= WideMapChannels && kh * kw > 1;

    /// <summary>
    /// Whether output rows fill most of the 16- and 32-pixel tiles (at least 10 pixels: 7 leave 9 of 16 lanes idle,
    /// and there the GEMM is faster: resnet_mini's 64-channel 7×7 layers 0.065 → 0.080 ms on this kernel; LeNet's second 5×5 layer, rows of 10, 0.054 → 0.040 ms).
    /// </summary>
    public static bool RowsAreWide(in ConvGeometry g) => g.OutWidth >= (g.Channels > WideRowChannels ? WideMapWidth : 10);

    private static bool Runs(int groups, int channels, int kh, int kw, CpuCapabilities? caps) =>
        ((caps ?? CpuCapabilities.Current) is var c && (c.Avx512F || c.Avx2Fma)) && groups == 1 && channels * kh * kw <= MaxTaps;

    /// <summary>True when the layer runs the AVX-512 tiles, false for the AVX2 ones.</summary>
    public bool Wide { get; }

    public int OutChannels { get; }
    public int Channels { get; }
    public int KernelH { get; }
    public int KernelW { get; }
    public int Taps => Channels * KernelH * KernelW;

    /// <summary>
    /// Scratch of <see cref="Run"/>: the phase-split padded copy of every image (or the flat one, <see cref="RunsFlat"/>);
    /// of one image where images run one at a time (<see cref="RunsImageByImage"/>).
    /// </summary>
    public static long ScratchFloats(in ConvGeometry g, int batch) =>
        (RunsImageByImage(g, batch) ? 1 : batch) * Math.Max(ImageFloats(g), FlatImageFloats(g)) + 16;

    /// <summary>
    /// Whether a batch runs image by image (the copy, then the tiles, of one image at a time): where one image's padded
    /// copy is at least 256 KB, the whole batch's copy leaves L2 before the tiles read it (an RGB stem at 224×224 is
    /// 600 KB an image, 4.8 MB at batch 8). Smaller layers keep one copy and one parallel loop for the batch: per image,
    /// the fork-joins would cost more than the cache misses.
    /// </summary>
    public static bool RunsImageByImage(in ConvGeometry g, int batch) => batch > 1 && Math.Max(ImageFloats(g), FlatImageFloats(g)) >= 1 << 16;

    /// <summary>
    /// Whether a layer runs its rows flat (AVX-512, stride 1, output rows under 10 wide): the output grid OH × Wf, with
    /// Wf = OW + (KW − 1)·DW the padded input width, is walked as one sequence of 32-pixel tiles, so rows of 7 fill 49 of
    /// 64 lanes instead of 49 of 112; the Wf − OW padding columns of each row are computed and dropped.
    /// </summary>
    public bool RunsFlat(in ConvGeometry g) => RunsFlat(g, Wide);

    /// <summary><see cref="RunsFlat(in ConvGeometry)"/> before the layer is built (planning): <paramref name="wide"/> is AVX-512F.</summary>
    public static bool RunsFlat(in ConvGeometry g, bool wide) => wide && g.StrideH == 1 && g.StrideW == 1 && g.OutWidth < 10 && g.Channels <= WideRowChannels;

    /// <param name="x">[batch, C, H, W].</param>
    /// <param name="y">[batch, O, OH, OW].</param>
    public void Run(float* x, int batch, in ConvGeometry g, float* y, float* scratch, int threads)
    {
        if (g.Channels != Channels || g.KernelH != KernelH || g.KernelW != KernelW)
        {
            throw new ArgumentException("The geometry does not match the layer.");
        }
        if (RunsImageByImage(g, batch))
        {
            for (var n = 0; n < batch; n++)
            {
                Run(x + (long)n * Channels * g.InPixels, 1, g, y + (long)n * OutChannels * g.OutPixels, scratch, threads);
            }
            return;
        }
        if (RunsFlat(g))
        {
            RunFlat(x, batch, g, y, scratch, threads);
            return;
        }
        var geometry = g;
        var rows = PaddedRows(g);
        var phases = g.StrideW;
        var width = PhaseWidth(g);
        var imageFloats = ImageFloats(g);
        var buffer = (nint)Sgemm.Align64(scratch);
        CopyPadded(x, batch, g, (float*)buffer, phases, width, imageFloats, threads);
        var taps = Taps;
        var offsets = stackalloc int[taps];
        FillTapOffsets(g, phases, width, offsets);
        var blocks = (OutChannels + Block - 1) / Block;
        var table = (nint)offsets;
        var output = (nint)y;
        var outChannels = OutChannels;
        var packed = _packed;
        var bias = _bias;
        var act = _activation;
        var wide = Wide;
        // Rows of at most 16 pixels go two to a tile (the second run of 16 takes the next row): 16 accumulators instead of 8
        // (1 thread: SqueezeNet's 48- and 64-channel 3×3 layers at 13×13 0.22 → 0.18 and 0.38 → 0.32 ms, resnet_mini's at 14×14
        // 0.032–0.035 → 0.026 ms).
        var rowsPerTile = wide && g.OutWidth <= 16 ? 2 : 1;
        var rowTiles = (g.OutHeight + rowsPerTile - 1) / rowsPerTile;
        var rowFloats = geometry.StrideH * phases * width;
        CpuParallel.For(batch * rowTiles * blocks, threads, (a, b) =>
        {
            fixed (float* pw = packed, pb = bias)
            {
                for (var u = a; u < b; u++)
                {
                    var block = u % blocks;
                    var row = u / blocks;
                    var n = row / rowTiles;
                    var oy = (row - n * rowTiles) * rowsPerTile;
                    var xr = (float*)buffer + n * imageFloats + (long)oy * rowFloats;
                    var o0 = block * Block;
                    var plane = (long)geometry.OutPixels;
                    var yr = (float*)output + ((long)n * outChannels + o0) * plane + (long)oy * geometry.OutWidth;
                    var channels = Math.Min(Block, outChannels - o0);
                    var wb = pw + (long)block * taps * Block;
                    var ow = geometry.OutWidth;
                    var ox = 0;
                    if (rowsPerTile == 2)
                    {
                        // The last row of an odd count reads its own row twice and stores one.
                        var second = oy + 1 < geometry.OutHeight;
                        FewChannelConvKernel.Tile2x16(xr, second ? rowFloats : 0, (int*)table, taps, wb, pb + o0, yr, ow, plane, channels, ow,
                            second ? ow : 0, act);
                        continue;
                    }
                    if (!wide)
                    {
                        // AVX2: 4 channels × 16 pixels per tile, the block's two channel halves one after the other.
                        for (; ox < ow; ox += 16)
                        {
                            for (var h = 0; h < channels; h += 4)
                            {
                                FewChannelConvKernel256.Tile4x16(xr + ox, (int*)table, taps, wb + h, pb + o0 + h, yr + h * plane + ox, plane,
                                    Math.Min(4, channels - h), Math.Min(16, ow - ox), act);
                            }
                        }
                        continue;
                    }
                    for (; ox < ow - 16; ox += TileWidth)
                    {
                        FewChannelConvKernel.Tile32(xr + ox, (int*)table, taps, wb, pb + o0, yr + ox, plane, channels, Math.Min(TileWidth, ow - ox), act);
                    }
                    if (ox < ow)
                    {
                        FewChannelConvKernel.Tile16(xr + ox, (int*)table, taps, wb, pb + o0, yr + ox, plane, channels, ow - ox, act);
                    }
                }
            }
        });
    }

    /// <summary><see cref="RunsFlat"/>: padded planes of width Wf, 32-pixel tiles over the flattened output grid.</summary>
    private void RunFlat(float* x, int batch, in ConvGeometry g, float* y, float* scratch, int threads)
    {
        var geometry = g;
        var rows = PaddedRows(g);
        var width = FlatWidth(g);
        var imageFloats = FlatImageFloats(g);
        var buffer = (nint)Sgemm.Align64(scratch);
        CopyPadded(x, batch, g, (float*)buffer, 1, width, imageFloats, threads);
        for (var n = 0; n < batch; n++)
        {
            // What the last tile reads past the last padded row: its lanes beyond the grid are dropped, but must be numbers.
            new Span<float>((float*)buffer + n * imageFloats + (long)g.Channels * rows * width, FlatSlack(g)).Clear();
        }
        var taps = Taps;
        var offsets = stackalloc int[taps];
        FillTapOffsets(g, 1, width, offsets);
        var grid = g.OutHeight * width;
        var tiles = (grid + FlatTile - 1) / FlatTile;
        var blocks = (OutChannels + Block - 1) / Block;
        var (table, output, packed, bias, act, outChannels) = ((nint)offsets, (nint)y, _packed, _bias, _activation, OutChannels);
        CpuParallel.For(batch * tiles * blocks, threads, (a, b) =>
        {
            var tile = stackalloc float[Block * FlatTile];
            fixed (float* pw = packed, pb = bias)
            {
                for (var u = a; u < b; u++)
                {
                    var block = u % blocks;
                    var t = u / blocks % tiles;
                    var n = u / blocks / tiles;
                    var o0 = block * Block;
                    var channels = Math.Min(Block, outChannels - o0);
                    FewChannelConvKernel.Tile32((float*)buffer + n * imageFloats + t * FlatTile, (int*)table, taps, pw + (long)block * taps * Block,
                        pb + o0, tile, FlatTile, channels, FlatTile, act);
                    // Lane i is grid pixel t·32 + i: row f / width, column f % width, kept when the column is an output.
                    var plane = (long)geometry.OutPixels;
                    var yo = (float*)output + ((long)n * outChannels + o0) * plane;
                    for (var f = t * FlatTile; f < Math.Min(grid, t * FlatTile + FlatTile);)
                    {
                        var oy = f / width;
                        var ox = f - oy * width;
                        var run = Math.Min(Math.Min(geometry.OutWidth - ox, t * FlatTile + FlatTile - f), grid - f);
                        if (run > 0)
                        {
                            for (var c = 0; c < channels; c++)
                            {
                                new ReadOnlySpan<float>(tile + c * FlatTile + (f - t * FlatTile), run).CopyTo(new Span<float>(yo + c * plane + oy * geometry.OutWidth + ox, run));
                            }
                            f += run;
                        }
                        else
                        {
                            f += width - ox;
                        }
                    }
                }
            }
        });
    }

    /// <summary>
    /// The zero-padded input of every image, split by column phase (<see cref="PhaseSplitCopy"/>): image n from
    /// n·<paramref name="imageFloats"/>, its padded row r of channel c at (c·rows + r)·phases·width.
    /// </summary>
    private static void CopyPadded(float* x, int batch, in ConvGeometry g, float* buffer, int phases, int width, long imageFloats, int threads)
    {
        var geometry = g;
        var rows = PaddedRows(g);
        var (source, target) = ((nint)x, (nint)buffer);
        CpuParallel.For(batch * g.Channels * rows, threads, (a, b) =>
        {
            for (var r = a; r < b; r++)
            {
                var plane = r / rows;
                var n = plane / geometry.Channels;
                var dst = (float*)target + n * imageFloats + ((long)(plane - n * geometry.Channels) * rows + r - plane * rows) * phases * width;
                PhaseSplitCopy.Row((float*)source + (long)plane * geometry.InPixels, r - plane * rows, geometry, dst, width);
            }
        });
    }

    /// <summary>Where tap (c, ky, kx) of an image's first output reads in the layout of <see cref="CopyPadded"/>.</summary>
    private static void FillTapOffsets(in ConvGeometry g, int phases, int width, int* offsets)
    {
        var rows = PaddedRows(g);
        for (var c = 0; c < g.Channels; c++)
        {
            for (var ky = 0; ky < g.KernelH; ky++)
            {
                for (var kx = 0; kx < g.KernelW; kx++)
                {
                    var column = kx * g.DilationW;
                    offsets[(c * g.KernelH + ky) * g.KernelW + kx] =
                        ((c * rows + ky * g.DilationH) * phases + column % phases) * width + column / phases;
                }
            }
        }
    }

    /// <summary>Width of the flat padded rows: the padded input width, OW + (KW − 1)·DW at stride 1.</summary>
    private static int FlatWidth(in ConvGeometry g) => g.OutWidth + (g.KernelW - 1) * g.DilationW;

    /// <summary>Pixels of the flattened output grid per tile of <see cref="RunFlat"/> (32: 16 accumulators; resnet_mini's 64-channel
    /// 3×3 layers at 7×7, 1 thread, 0.037–0.040 → 0.030–0.031 ms against tiles of 16).</summary>
    private const int FlatTile = 32;

    /// <summary>Past the last padded row, what the last tile's lanes read: up to 31 grid pixels and the farthest column tap.</summary>
    private static int FlatSlack(in ConvGeometry g) => FlatTile + (g.KernelW - 1) * g.DilationW;

    private static long FlatImageFloats(in ConvGeometry g) =>
        g.StrideH == 1 && g.StrideW == 1 ? (long)g.Channels * PaddedRows(g) * FlatWidth(g) + FlatSlack(g) : 0;

    /// <summary>Rows of the padded input that outputs read: (OH − 1)·sh + (KH − 1)·dh + 1.</summary>
    private static int PaddedRows(in ConvGeometry g) => (g.OutHeight - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1;

    /// <summary>Floats of one phase row: whole tiles of outputs plus the farthest tap's shift.</summary>
    private static int PhaseWidth(in ConvGeometry g) =>
        (g.OutWidth + TileWidth - 1) / TileWidth * TileWidth + (g.KernelW - 1) * g.DilationW / g.StrideW;

    private static long ImageFloats(in ConvGeometry g) => (long)g.Channels * PaddedRows(g) * g.StrideW * PhaseWidth(g);
}
