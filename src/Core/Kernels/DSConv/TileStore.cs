using DSConvService.Core.Kernels.Gemm;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Where the 32 pixels of one tile land in the output plane. A tile walks the output grid OH × Wq, whose
/// columns ≥ OW are padding; dropping those lanes leaves the valid ones in the order of the NCHW plane,
/// contiguous from the first one. So each 16-pixel half is a compress (<see cref="Keep0"/>) followed by one
/// store of <see cref="Count0"/> floats at <see cref="Start0"/>.
/// </summary>
public struct TileStoreMap
{
    public Vector512<float> Keep0;
    public Vector512<float> Keep1;
    public Vector512<float> Store0;
    public Vector512<float> Store1;
    public int Start0;
    public int Start1;
    public int Count0;
    public int Count1;

    /// <summary>Whether the tile's 32 pixels are one run of the plane (both halves whole, the second right after the first).</summary>
    public bool Full;

    public static readonly int Bytes = (Unsafe.SizeOf<TileStoreMap>() + 63) / 64 * 64;

    /// <summary>The map of every tile of one image (they are the same for all images, groups and panels).</summary>
    public static unsafe void Build(TileStoreMap* maps, int tiles, int gridWidth, int oh, int ow)
    {
        if (gridWidth == ow)
        {
            BuildDense(maps, tiles, oh * ow);
            return;
        }
        for (var tile = 0; tile < tiles; tile++)
        {
            var map = (TileStoreMap*)((byte*)maps + (long)tile * Bytes);
            Half(tile * TileArgs.Pixels, gridWidth, oh, ow, out map->Keep0, out map->Store0, out map->Start0, out map->Count0);
            Half(tile * TileArgs.Pixels + 16, gridWidth, oh, ow, out map->Keep1, out map->Store1, out map->Start1, out map->Count1);
            map->Full = map->Count0 == 16 && map->Count1 == 16 && map->Start1 == map->Start0 + 16;
        }
    }

    /// <summary>
    /// A grid without padding columns (every 1×1 layer): tile t holds pixels 32t… of the plane in order, so each half
    /// keeps its first lanes up to the plane's end (lane by lane, the maps of a 112×112 layer took 10 µs a run; so 1.2).
    /// </summary>
    private static unsafe void BuildDense(TileStoreMap* maps, int tiles, int pixels)
    {
        var lanes = Vector512<int>.Indices;
        for (var tile = 0; tile < tiles; tile++)
        {
            var map = (TileStoreMap*)((byte*)maps + (long)tile * Bytes);
            var p0 = tile * TileArgs.Pixels;
            var count0 = Math.Clamp(pixels - p0, 0, 16);
            var count1 = Math.Clamp(pixels - p0 - 16, 0, 16);
            var keep0 = Vector512.LessThan(lanes, Vector512.Create(count0)).AsSingle();
            var keep1 = Vector512.LessThan(lanes, Vector512.Create(count1)).AsSingle();
            map->Keep0 = keep0;
            map->Store0 = keep0;
            map->Keep1 = keep1;
            map->Store1 = keep1;
            map->Start0 = count0 > 0 ? p0 : 0;
            map->Start1 = count1 > 0 ? p0 + 16 : 0;
            map->Count0 = count0;
            map->Count1 = count1;
            map->Full = count0 == 16 && count1 == 16;
        }
    }

    private static void Half(int p0, int gridWidth, int oh, int ow, out Vector512<float> keep, out Vector512<float> store, out int start, out int count)
    {
        var keepBits = 0;
        start = 0;
        count = 0;
        var oy = p0 / gridWidth;
        var ox = p0 - oy * gridWidth;
        for (var lane = 0; lane < 16; lane++)
        {
            if (oy < oh && ox < ow)
            {
                if (count == 0)
                {
                    start = oy * ow + ox;
                }
                keepBits |= 1 << lane;
                count++;
            }
            if (++ox == gridWidth)
            {
                ox = 0;
                oy++;
            }
        }
        var lanes = Vector512<int>.Indices;
        keep = Vector512.Equals(Vector512.Create(keepBits) & Avx512F.ShiftLeftLogicalVariable(Vector512<int>.One, lanes.AsUInt32()), Vector512<int>.Zero).AsSingle()
            ^ Vector512<float>.AllBitsSet;
        store = Vector512.LessThan(lanes, Vector512.Create(count)).AsSingle();
    }
}

/// <summary>y = act(C + bias [+ residual]) for one C tile [rows][32 pixels], written straight into the NCHW output.</summary>
public static unsafe class TileStore
{
    /// <param name="planes">Output plane of the tile's first row (rows are <paramref name="planeStride"/> floats apart); residual likewise.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(float* c, int rows, TileStoreMap* map, float* planes, float* residual, long planeStride, float* bias, in FusedActivation act)
    {
        if (map->Count0 == 16 && map->Count1 == 16 && map->Start1 == map->Start0 + 16)
        {
            // 32 valid pixels in a row of the plane (every tile of a map without padding columns): plain loads and stores.
            for (var r = 0; r < rows; r++)
            {
                var b = Vector512.Create(bias[r]);
                var row = c + r * TileArgs.Pixels;
                var at = planes + r * planeStride + map->Start0;
                var v0 = Vector512.Load(row) + b;
                var v1 = Vector512.Load(row + 16) + b;
                if (residual != null)
                {
                    var res = residual + r * planeStride + map->Start0;
                    v0 += Vector512.Load(res);
                    v1 += Vector512.Load(res + 16);
                }
                ActivationVectors.Apply(v0, act).Store(at);
                ActivationVectors.Apply(v1, act).Store(at + 16);
            }
            return;
        }
        for (var r = 0; r < rows; r++)
        {
            var b = Vector512.Create(bias[r]);
            var row = c + r * TileArgs.Pixels;
            var plane = planes + r * planeStride;
            var res = residual == null ? null : residual + r * planeStride;
            if (map->Count0 > 0)
            {
                Half(Vector512.Load(row) + b, map->Keep0, map->Store0, plane + map->Start0, res == null ? null : res + map->Start0, act);
            }
            if (map->Count1 > 0)
            {
                Half(Vector512.Load(row + 16) + b, map->Keep1, map->Store1, plane + map->Start1, res == null ? null : res + map->Start1, act);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Half(Vector512<float> v, Vector512<float> keep, Vector512<float> store, float* dst, float* residual,
        in FusedActivation act)
    {
        v = Avx512F.Compress(Vector512<float>.Zero, keep, v);
        if (residual != null)
        {
            v += Avx512F.MaskLoad(residual, store, Vector512<float>.Zero);
        }
        Avx512F.MaskStore(dst, store, ActivationVectors.Apply(v, act));
    }
}
