using System.Runtime.InteropServices;
using DSConvService.Core.Kernels.DSConv;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// The per-tile store maps against the grid itself: a tile's 32 pixels walk the OH × gridWidth grid, a lane is kept when
/// its pixel is inside the OH × OW plane, and the kept lanes land in plane order from the first one. Grids with padding
/// columns take the lane-by-lane build, grids without them (gridWidth = OW) the dense one; both must say the same.
/// </summary>
public sealed unsafe class TileStoreMapTests
{
    [Theory]
    [InlineData(112, 112, 112)]
    [InlineData(7, 7, 7)]
    [InlineData(13, 13, 13)]
    [InlineData(1, 5, 5)]
    [InlineData(14, 14, 16)]
    [InlineData(9, 11, 13)]
    [InlineData(3, 3, 20)]
    public void Maps_Match_The_Grid(int oh, int ow, int gridWidth)
    {
        var tiles = (oh * gridWidth + TileArgs.Pixels - 1) / TileArgs.Pixels;
        var maps = (TileStoreMap*)NativeMemory.AlignedAlloc((nuint)(tiles * TileStoreMap.Bytes), 64);
        try
        {
            TileStoreMap.Build(maps, tiles, gridWidth, oh, ow);
            for (var tile = 0; tile < tiles; tile++)
            {
                var map = (TileStoreMap*)((byte*)maps + (long)tile * TileStoreMap.Bytes);
                CheckHalf(tile * TileArgs.Pixels, gridWidth, oh, ow, map->Keep0, map->Store0, map->Start0, map->Count0, tile, 0);
                CheckHalf(tile * TileArgs.Pixels + 16, gridWidth, oh, ow, map->Keep1, map->Store1, map->Start1, map->Count1, tile, 1);
                var full = map->Count0 == 16 && map->Count1 == 16 && map->Start1 == map->Start0 + 16;
                Assert.Equal(full, map->Full);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(maps);
        }
    }

    private static void CheckHalf(int p0, int gridWidth, int oh, int ow, System.Runtime.Intrinsics.Vector512<float> keep,
        System.Runtime.Intrinsics.Vector512<float> store, int start, int count, int tile, int half)
    {
        var kept = new List<int>();
        for (var lane = 0; lane < 16; lane++)
        {
            var p = p0 + lane;
            var (oy, ox) = (p / gridWidth, p % gridWidth);
            var inside = oy < oh && ox < ow;
            Assert.True(inside == (BitConverter.SingleToInt32Bits(keep[lane]) != 0), $"tile {tile} half {half} lane {lane}: keep");
            if (inside)
            {
                kept.Add(oy * ow + ox);
            }
        }
        Assert.Equal(kept.Count, count);
        for (var lane = 0; lane < 16; lane++)
        {
            Assert.True(lane < count == (BitConverter.SingleToInt32Bits(store[lane]) != 0), $"tile {tile} half {half} lane {lane}: store");
        }
        if (count > 0)
        {
            Assert.Equal(kept[0], start);
            Assert.Equal(Enumerable.Range(start, count), kept);
        }
    }
}
