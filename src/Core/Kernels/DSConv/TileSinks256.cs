using DSConvService.Core.Kernels.Gemm;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>Where the AVX2 micro-kernel puts one finished 16-pixel half (pixels p0..p0+15) of its 4-row C tile.</summary>
public interface ITileSink256
{
    void Store(int p0, Vector256<float> c00, Vector256<float> c01, Vector256<float> c10, Vector256<float> c11,
        Vector256<float> c20, Vector256<float> c21, Vector256<float> c30, Vector256<float> c31);
}

/// <summary>C into the [4][32] float buffer of <see cref="TileArgs.C"/> (the caller stores it).</summary>
public readonly unsafe struct BufferSink256(float* c) : ITileSink256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(int p0, Vector256<float> c00, Vector256<float> c01, Vector256<float> c10, Vector256<float> c11,
        Vector256<float> c20, Vector256<float> c21, Vector256<float> c30, Vector256<float> c31)
    {
        var p = c + p0;
        c00.Store(p);
        c01.Store(p + 8);
        c10.Store(p + TileArgs.Pixels);
        c11.Store(p + TileArgs.Pixels + 8);
        c20.Store(p + 2 * TileArgs.Pixels);
        c21.Store(p + 2 * TileArgs.Pixels + 8);
        c30.Store(p + 3 * TileArgs.Pixels);
        c31.Store(p + 3 * TileArgs.Pixels + 8);
    }
}

/// <summary>
/// y = act(C + bias [+ residual]) straight from the registers for a tile whose 32 pixels are one run of every
/// output plane (an output grid without padding columns, a tile inside the map): the numbers of
/// <see cref="EpilogueKernel.BiasActivate"/> without the C round trip through memory.
/// </summary>
public unsafe struct RunSink256 : ITileSink256
{
    private readonly FusedActivation _act;

    public RunSink256(FusedActivation act)
    {
        _act = act;
    }

    /// <summary>The tile's first pixel in the output plane of its first row (rows <see cref="PlaneStride"/> floats apart).</summary>
    public float* Planes;

    /// <summary>Null, or the residual at the same place, laid out like <see cref="Planes"/>.</summary>
    public float* Residual;
    public long PlaneStride;

    /// <summary>Bias of the tile's first row.</summary>
    public float* Bias;

    /// <summary>Valid rows (1..4): the last panel of a layer may hold fewer.</summary>
    public int Rows;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(int p0, Vector256<float> c00, Vector256<float> c01, Vector256<float> c10, Vector256<float> c11,
        Vector256<float> c20, Vector256<float> c21, Vector256<float> c30, Vector256<float> c31)
    {
        Row(c00, c01, 0, p0);
        if (Rows > 1)
        {
            Row(c10, c11, 1, p0);
        }
        if (Rows > 2)
        {
            Row(c20, c21, 2, p0);
        }
        if (Rows > 3)
        {
            Row(c30, c31, 3, p0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void Row(Vector256<float> v0, Vector256<float> v1, int r, int p0)
    {
        var b = Vector256.Create(Bias[r]);
        var dst = Planes + r * PlaneStride + p0;
        v0 += b;
        v1 += b;
        if (Residual != null)
        {
            var res = Residual + r * PlaneStride + p0;
            v0 += Vector256.Load(res);
            v1 += Vector256.Load(res + 8);
        }
        ActivationVectors.Apply(v0, _act).Store(dst);
        ActivationVectors.Apply(v1, _act).Store(dst + 8);
    }
}
