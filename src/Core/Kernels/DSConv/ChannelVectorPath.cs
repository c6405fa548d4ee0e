using DSConvService.Core.Kernels.Gemm;
using System.Runtime.Intrinsics;
using DSConvService.Core.Execution;
using DSConvService.Core.Threading;
using DSConvService.Core.Kernels.DSConv.Native;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The GEMM step of the integer path for small maps (ResNet18's 28×28, 14×14 and 7×7 stages, see
/// <see cref="Worthwhile"/>), where walking the output grid OH × Wq in runs of 32 pixels computes pixels that
/// are dropped (64 for the 49 outputs of a 7×7 map). Here vectors run across output channels
/// (<see cref="Avx512ChannelKernel"/>), so a tile is any 4 valid output pixels of the batch: the pixel list
/// (image, oy, ox) of each group is cut into tiles of 4 (the last padded by repeating a valid pixel, never
/// stored). It reads the BFP-packed planes and the AOffsets/SOffsets of <see cref="DSConvEngine"/> unchanged;
/// its only other memory is a 4×32 C tile per worker on the stack, so the engine's scratch is the same.
/// </summary>
public sealed unsafe class ChannelVectorPath
{
    private const int Rows = ChannelPackedWeights.Rows;
    private const int Pixels = ChannelTileArgs.Pixels;
    private readonly ChannelPackedWeights _w;
    private readonly float[] _bias;
    private readonly FusedActivation _activation;
    private readonly int _int16Steps;
    private readonly bool _vnni;

    /// <param name="vnni">Run the tiles on <see cref="Avx512VnniKernel.RunChannel"/> (exact for every width, so
    /// <paramref name="packed"/> is not nibble-split) instead of <see cref="Avx512ChannelKernel"/>.</param>
    public ChannelVectorPath(PackedWeights packed, float[] bias, FusedActivation activation, int int16Steps, bool vnni = false)
    {
        _vnni = vnni;
        _w = new ChannelPackedWeights(packed);
        // Bias per (group, panel) padded to 32 rows, for whole-vector adds.
        _bias = new float[_w.Groups * _w.Panels * Rows];
        for (var g = 0; g < _w.Groups; g++)
        {
            for (var og = 0; og < _w.Og; og++)
            {
                _bias[g * _w.Panels * Rows + og] = bias[g * _w.Og + og];
            }
        }
        _activation = activation;
        _int16Steps = Math.Min(int16Steps, packed.StepsPerBlock);
    }

    /// <summary>
    /// True when this path computes at least 5 % fewer products than the pixel-vector GEMM: that one pads output rows
    /// to panels of 4 and walks the padded grid in 32-pixel tiles; this one pads rows to panels of 32 and pixels to
    /// tiles of 4. On ResNet18 it takes the 7×7 (1.23x fewer), 14×14 (1.14x) and 28×28 (1.10x, 1.06x strided) layers,
    /// measured 20 %, 10 % and 3–5 % faster here; not the 56×56 ones (1.04x, 0–7 % slower on this path), nor layers
    /// with few output channels per group (16 channels would waste half of every 32-row panel).
    /// </summary>
    public static bool Worthwhile(in ConvShape s)
    {
        var pixelPath = (s.Og + PackedWeights.Rows - 1) / PackedWeights.Rows * PackedWeights.Rows * (long)s.N * DSConvLayout.TilesOf(s) * TileArgs.Pixels;
        var channelPath = (s.Og + Rows - 1) / Rows * Rows * (((long)s.N * s.OutPixels + Pixels - 1) / Pixels * Pixels);
        return channelPath * 21 <= pixelPath * 20;
    }

    /// <param name="mem">The scratch of the run, holding the packed planes of <paramref name="layout"/>.</param>
    /// <param name="aOffsets">Byte offset of each k-step from a pixel's activation base (step 2 of the engine).</param>
    /// <param name="sOffsets">Offset of each k-block from a pixel's scale base.</param>
    public void Run(in ConvShape s, in DSConvLayout layout, byte* mem, int* aOffsets, int* sOffsets, float* y, float* residual, int workers)
    {
        var pixels = s.N * s.OutPixels;
        var tiles = (pixels + Pixels - 1) / Pixels;
        var panels = s.Groups * _w.Panels;
        // Enough items for every worker; each item is one panel against a range of tiles (the panel stays in L2).
        var tileChunks = Math.Clamp((2 * workers + panels - 1) / panels, 1, tiles);
        var items = panels * tileChunks;
        var ctx = new Context
        {
            Mem = (nint)mem, AOffsets = (nint)aOffsets, SOffsets = (nint)sOffsets, Y = (nint)y, Residual = (nint)residual,
            Tiles = tiles, TileChunks = tileChunks,
        };
        var shape = s;
        var lay = layout;
        var parts = Math.Min(workers, items);
        if (parts == 1)
        {
            RunItems(ctx, shape, lay, 0, items);
            return;
        }
        CpuParallel.For(parts, parts, (a, b) =>
        {
            for (var part = a; part < b; part++)
            {
                RunItems(ctx, shape, lay, (int)((long)items * part / parts), (int)((long)items * (part + 1) / parts));
            }
        });
    }

    private readonly struct Context
    {
        public nint Mem { get; init; }
        public nint AOffsets { get; init; }
        public nint SOffsets { get; init; }
        public nint Y { get; init; }
        public nint Residual { get; init; }
        public int Tiles { get; init; }
        public int TileChunks { get; init; }
    }

    private void RunItems(in Context ctx, in ConvShape s, in DSConvLayout layout, int first, int last)
    {
        var c = stackalloc float[Pixels * Rows];
        var res = stackalloc float[Pixels * Rows];
        var yOffsets = stackalloc long[Pixels];
        var a = stackalloc nint[Pixels];
        var sc = stackalloc nint[Pixels];
        var mem = (byte*)ctx.Mem;
        var pixels = s.N * s.OutPixels;
        var gw = layout.GridWidth;
        fixed (sbyte* pq = _w.Q)
        fixed (float* pxi = _w.Xi, pbias = _bias)
        fixed (int* pcorr = _w.Correction)
        {
            var args = new ChannelTileArgs
            {
                AOffsets = (int*)ctx.AOffsets,
                SOffsets = (int*)ctx.SOffsets,
                KBlocks = _w.KBlocks,
                StepsPerBlock = _w.StepsPerBlock,
                Int16Steps = _int16Steps,
                C = c,
            };
            for (var item = first; item < last; item++)
            {
                var chunk = item % ctx.TileChunks;
                var gp = item / ctx.TileChunks;
                var g = gp / _w.Panels;
                var panel = gp % _w.Panels;
                var og0 = panel * Rows;
                var rows = Math.Min(Rows, _w.Og - og0);
                args.Q = pq + _w.QOffset(g, panel);
                args.Xi = pxi + _w.BlockOffset(g, panel);
                args.Correction = pcorr + _w.BlockOffset(g, panel);
                var tile0 = (int)((long)ctx.Tiles * chunk / ctx.TileChunks);
                var tile1 = (int)((long)ctx.Tiles * (chunk + 1) / ctx.TileChunks);
                for (var tile = tile0; tile < tile1; tile++)
                {
                    var valid = Math.Min(Pixels, pixels - tile * Pixels);
                    for (var i = 0; i < Pixels; i++)
                    {
                        // Padding pixels repeat the last valid one (computed, never stored).
                        var p = tile * Pixels + Math.Min(i, valid - 1);
                        var n = p / s.OutPixels;
                        var r = p - n * s.OutPixels;
                        var oy = r / s.OW;
                        var ox = r - oy * s.OW;
                        var unit = n * s.Groups + g;
                        var grid = oy * gw + ox;
                        a[i] = (nint)(mem + layout.QuantPlane(unit, 0, 0) + grid * 4L);
                        sc[i] = (nint)((float*)(mem + layout.ScalePlane(unit, 0)) + grid);
                        yOffsets[i] = (long)n * s.O * s.OutPixels + r;
                    }
                    args.A0 = (byte*)a[0];
                    args.A1 = (byte*)a[1];
                    args.A2 = (byte*)a[2];
                    args.A3 = (byte*)a[3];
                    args.S0 = (float*)sc[0];
                    args.S1 = (float*)sc[1];
                    args.S2 = (float*)sc[2];
                    args.S3 = (float*)sc[3];
                    if (_vnni)
                    {
                        Avx512VnniKernel.RunChannel(args);
                    }
                    else
                    {
                        Avx512ChannelKernel.Run(args);
                    }
                    Store(c, res, yOffsets, valid, g * s.Og + og0, rows, s.OutPixels, pbias + gp * Rows, (float*)ctx.Y, (float*)ctx.Residual);
                }
            }
        }
    }

    /// <summary>
    /// y[o][pixel] = act(c[pixel][o] + bias[o] (+ residual)) for the tile's valid pixels and rows: the arithmetic on
    /// whole 16-row vectors in the order of operations of <see cref="EpilogueKernel"/> (so the results equal the
    /// pixel-vector path's), then the transposed, strided store into the NCHW planes.
    /// </summary>
    /// <param name="res">Room for the tile's residuals [4][32].</param>
    /// <param name="bias">The panel's 32 biases (zero-padded).</param>
    private void Store(float* c, float* res, long* yOffsets, int valid, int o0, int rows, int outPixels, float* bias, float* y, float* residual)
    {
        var act = _activation;
        var b0 = Vector512.Load(bias);
        var b1 = Vector512.Load(bias + 16);
        if (valid == Pixels && yOffsets[Pixels - 1] == yOffsets[0] + Pixels - 1)
        {
            // The usual case: four neighbouring pixels of one output row.
            var at = y + yOffsets[0] + (long)o0 * outPixels;
            var from = residual == null ? null : residual + yOffsets[0] + (long)o0 * outPixels;
            TransposedStore.FourPixels(c, 0, b0, at, from, outPixels, Math.Min(rows, 16), act);
            if (rows > 16)
            {
                TransposedStore.FourPixels(c, 16, b1, at + 16L * outPixels, from == null ? null : from + 16L * outPixels, outPixels, rows - 16, act);
            }
            return;
        }
        if (residual != null)
        {
            for (var i = 0; i < valid; i++)
            {
                var from = residual + yOffsets[i] + (long)o0 * outPixels;
                for (var r = 0; r < rows; r++)
                {
                    res[i * Rows + r] = from[(long)r * outPixels];
                }
            }
        }
        for (var i = 0; i < valid * Rows; i += 16)
        {
            var v = Vector512.Load(c + i) + ((i & 16) == 0 ? b0 : b1);
            if (residual != null)
            {
                v += Vector512.Load(res + i);
            }
            ActivationVectors.Apply(v, act).Store(c + i);
        }
        for (var i = 0; i < valid; i++)
        {
            var src = c + i * Rows;
            var dst = y + yOffsets[i] + (long)o0 * outPixels;
            for (var r = 0; r < rows; r++, dst += outPixels)
            {
                *dst = src[r];
            }
        }
    }
}
