using DSConvService.Core.Kernels.Gemm;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>Where a 4-row × 32-pixel micro-kernel puts its finished C tile (rows r0..r3, halves 0 and 1).</summary>
public interface ITileSink
{
    void Store(Vector512<float> c00, Vector512<float> c01, Vector512<float> c10, Vector512<float> c11,
        Vector512<float> c20, Vector512<float> c21, Vector512<float> c30, Vector512<float> c31);
}

/// <summary>C into the [4][32] float buffer of <see cref="TileArgs.C"/> (the caller stores it).</summary>
public readonly unsafe struct BufferSink(float* c) : ITileSink
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(Vector512<float> c00, Vector512<float> c01, Vector512<float> c10, Vector512<float> c11,
        Vector512<float> c20, Vector512<float> c21, Vector512<float> c30, Vector512<float> c31)
    {
        c00.Store(c);
        c01.Store(c + 16);
        c10.Store(c + 32);
        c11.Store(c + 48);
        c20.Store(c + 64);
        c21.Store(c + 80);
        c30.Store(c + 96);
        c31.Store(c + 112);
    }
}

/// <summary>
/// y = act(C + bias [+ residual]) straight from the kernel's registers into the NCHW output through the tile's
/// <see cref="TileStoreMap"/>: the numbers of <see cref="TileStore.Run"/> without the C round trip through memory.
/// </summary>
public unsafe struct PlaneSink : ITileSink
{
    private readonly FusedActivation _act;

    public PlaneSink(FusedActivation act)
    {
        _act = act;
    }

    /// <summary>Output plane of the tile's first row (rows <see cref="PlaneStride"/> floats apart).</summary>
    public float* Planes;

    /// <summary>Null, or the residual plane of the first row, laid out like <see cref="Planes"/>.</summary>
    public float* Residual;
    public long PlaneStride;

    /// <summary>Bias of the tile's first row.</summary>
    public float* Bias;

    /// <summary>Valid rows (1..4): the last panel of a layer may hold fewer.</summary>
    public int Rows;
    public TileStoreMap* Map;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(Vector512<float> c00, Vector512<float> c01, Vector512<float> c10, Vector512<float> c11,
        Vector512<float> c20, Vector512<float> c21, Vector512<float> c30, Vector512<float> c31)
    {
        Row(c00, c01, 0);
        if (Rows > 1)
        {
            Row(c10, c11, 1);
        }
        if (Rows > 2)
        {
            Row(c20, c21, 2);
        }
        if (Rows > 3)
        {
            Row(c30, c31, 3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Row(Vector512<float> v0, Vector512<float> v1, int r)
    {
        var b = Vector512.Create(Bias[r]);
        var plane = Planes + r * PlaneStride;
        var res = Residual == null ? null : Residual + r * PlaneStride;
        var map = Map;
        if (map->Full)
        {
            // 32 pixels in one run of the plane: plain stores, no compress and no masks.
            var at = plane + map->Start0;
            v0 += b;
            v1 += b;
            if (res != null)
            {
                v0 += Vector512.Load(res + map->Start0);
                v1 += Vector512.Load(res + map->Start0 + 16);
            }
            ActivationVectors.Apply(v0, _act).Store(at);
            ActivationVectors.Apply(v1, _act).Store(at + 16);
            return;
        }
        if (map->Count0 > 0)
        {
            TileStore.Half(v0 + b, map->Keep0, map->Store0, plane + map->Start0, res == null ? null : res + map->Start0, _act);
        }
        if (map->Count1 > 0)
        {
            TileStore.Half(v1 + b, map->Keep1, map->Store1, plane + map->Start1, res == null ? null : res + map->Start1, _act);
        }
    }
}
