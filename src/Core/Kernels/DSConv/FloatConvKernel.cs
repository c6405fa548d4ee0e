using System.Runtime.Intrinsics;
using DSConvService.Core.Quantization.Reference;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>
/// The float path of DSConv layers the integer GEMM does not take (float activations, depthwise,
/// KDS bias, CDS bias): x̂ by <see cref="BfpReference"/>, then a direct float convolution with ŵ.
/// </summary>
public static unsafe class FloatConvKernel
{
    /// <summary>x̂ of the channel block (n, g, j) written into <paramref name="dst"/> (NCHW like x).</summary>
    public static void SimulateBlock(float* x, float* dst, in ConvShape s, DSConvFormat f, int n, int g, int j)
    {
        var hw = s.InPixels;
        var c0 = g * s.Cg + j * f.BlockSize;
        var len = Math.Min(f.BlockSize, s.Cg - j * f.BlockSize);
        Span<float> block = stackalloc float[len];
        var baseIndex = ((long)n * s.C + c0) * hw;
        for (var p = 0; p < hw; p++)
        {
            for (var i = 0; i < len; i++)
            {
                block[i] = x[baseIndex + (long)i * hw + p];
            }
            var e = BfpReference.BlockExponent(block, f.ExponentBits);
            for (var i = 0; i < len; i++)
            {
                dst[baseIndex + (long)i * hw + p] = BfpReference.Value(BfpReference.Mantissa(block[i], e, f.MantissaBits), e, f.MantissaBits);
            }
        }
    }

    /// <summary>y[n, o] = act(bias[o] + Σ ŵ[o]·x over its group's channels), one output plane.</summary>
    public static void ConvPlane(float* x, in ConvShape s, float* weights, float bias, FusedActivation act, float* y, int n, int o)
    {
        var plane = y + ((long)n * s.O + o) * s.OutPixels;
        new Span<float>(plane, s.OutPixels).Fill(bias);
        var g = o / s.Og;
        for (var ci = 0; ci < s.Cg; ci++)
        {
            var input = x + ((long)n * s.C + g * s.Cg + ci) * s.InPixels;
            for (var ky = 0; ky < s.KH; ky++)
            {
                for (var kx = 0; kx < s.KW; kx++)
                {
                    var wv = weights[((o * s.Cg + ci) * s.KH + ky) * s.KW + kx];
                    if (wv == 0f)
                    {
                        continue;
                    }
                    var shift = kx * s.DilationW - s.PadLeft;
                    var oxLo = shift >= 0 ? 0 : (-shift + s.StrideW - 1) / s.StrideW;
                    var oxHi = Math.Min(s.OW - 1, (s.W - 1 - shift) / s.StrideW);
                    if (s.W - 1 - shift < 0 || oxLo > oxHi)
                    {
                        continue;
                    }
                    for (var oy = 0; oy < s.OH; oy++)
                    {
                        var iy = oy * s.StrideH - s.PadTop + ky * s.DilationH;
                        if ((uint)iy >= (uint)s.H)
                        {
                            continue;
                        }
                        var inRow = input + iy * s.W + shift;
                        var outRow = plane + oy * s.OW;
                        if (s.StrideW == 1)
                        {
                            Axpy(wv, inRow + oxLo, outRow + oxLo, oxHi - oxLo + 1);
                        }
                        else
                        {
                            for (var ox = oxLo; ox <= oxHi; ox++)
                            {
                                outRow[ox] += wv * inRow[ox * s.StrideW];
                            }
                        }
                    }
                }
            }
        }
        act.Apply(new Span<float>(plane, s.OutPixels));
    }

    private static void Axpy(float a, float* x, float* y, int count)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= count; i += 8)
            {
                (Vector256.Load(y + i) + va * Vector256.Load(x + i)).Store(y + i);
            }
        }
        for (; i < count; i++)
        {
            y[i] += a * x[i];
        }
    }
}
