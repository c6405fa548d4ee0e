using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// Gathers one 32-pixel tile of a strided convolution from the padded quad-planar input into
/// A[kstep][32] dwords and S[kblock][32] scales (K ordered tap, block, step, as the packed weights).
/// </summary>
public static unsafe class Im2ColPacker
{
    /// <param name="pixelBase">Padded-grid index of each of the 32 output pixels' window origin.</param>
    public static void PackTile(uint* quant, float* scales, int planeLength, int steps, int nbg, in ConvShape s, int wp,
        int* pixelBase, uint* dstA, float* dstS)
    {
        var taps = s.Taps;
        for (var t = 0; t < taps; t++)
        {
            var tapOffset = t / s.KW * s.DilationH * wp + t % s.KW * s.DilationW;
            for (var j = 0; j < nbg; j++)
            {
                var kb = t * nbg + j;
                Gather((uint*)scales + (long)j * planeLength + tapOffset, pixelBase, (uint*)dstS + kb * TileArgs.Pixels);
                for (var st = 0; st < steps; st++)
                {
                    var ks = kb * steps + st;
                    Gather(quant + ((long)j * steps + st) * planeLength + tapOffset, pixelBase, dstA + ks * TileArgs.Pixels);
                }
            }
        }
    }

    private static void Gather(uint* src, int* index, uint* dst)
    {
        if (Avx2.IsSupported)
        {
            for (var i = 0; i < TileArgs.Pixels; i += 8)
            {
                Avx2.GatherVector256(src, Vector256.Load(index + i), 4).Store(dst + i);
            }
            return;
        }
        for (var i = 0; i < TileArgs.Pixels; i++)
        {
            dst[i] = src[index[i]];
        }
    }
}
