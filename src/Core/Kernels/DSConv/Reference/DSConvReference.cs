using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Quantization.Reference;

namespace DSConvService.Core.Kernels.DSConv.Reference;

/// <summary>
/// The scalar specification of a DSConv layer (DESIGN 2.3): conv(x̂, ŵ) in float, where x̂ is the BFP
/// simulation of the input (<see cref="BfpReference.Simulate"/>) and ŵ the effective weights. Every
/// fast path is tested against this.
/// </summary>
public static class DSConvReference
{
    /// <summary>x̂: the input as the layer sees it (unchanged for float activations).</summary>
    public static float[] SimulateInput(ReadOnlySpan<float> x, in ConvShape s, DSConvFormat f) =>
        f.FloatActivations ? x.ToArray() : BfpReference.Simulate(x, s.N, s.C, s.H, s.W, s.Groups, f.BlockSize, f.MantissaBits, f.ExponentBits);

    /// <summary>y = act(conv(x̂, ŵ) + bias), accumulated in double.</summary>
    public static float[] Run(ReadOnlySpan<float> x, in ConvShape s, DSConvWeights w, FusedActivation act)
    {
        var xs = SimulateInput(x, s, w.Format);
        var y = new float[s.N * s.O * s.OutPixels];
        FloatConv(xs, s, w.Effective(), w.Bias, act, y);
        return y;
    }

    /// <summary>Plain direct float convolution y = act(Σ w·x + bias) (double accumulation).</summary>
    public static void FloatConv(ReadOnlySpan<float> x, in ConvShape s, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, FusedActivation act, Span<float> y)
    {
        var cg = s.Cg;
        var og = s.Og;
        for (var n = 0; n < s.N; n++)
        {
            for (var o = 0; o < s.O; o++)
            {
                var g = o / og;
                for (var oy = 0; oy < s.OH; oy++)
                {
                    for (var ox = 0; ox < s.OW; ox++)
                    {
                        double acc = bias.IsEmpty ? 0 : bias[o];
                        for (var ci = 0; ci < cg; ci++)
                        {
                            var c = g * cg + ci;
                            for (var ky = 0; ky < s.KH; ky++)
                            {
                                var iy = oy * s.StrideH - s.PadTop + ky * s.DilationH;
                                if ((uint)iy >= (uint)s.H)
                                {
                                    continue;
                                }
                                for (var kx = 0; kx < s.KW; kx++)
                                {
                                    var ix = ox * s.StrideW - s.PadLeft + kx * s.DilationW;
                                    if ((uint)ix >= (uint)s.W)
                                    {
                                        continue;
                                    }
                                    acc += (double)weights[((o * cg + ci) * s.KH + ky) * s.KW + kx] * x[((n * s.C + c) * s.H + iy) * s.W + ix];
                                }
                            }
                        }
                        y[((n * s.O + o) * s.OH + oy) * s.OW + ox] = act.Apply((float)acc);
                    }
                }
            }
        }
    }
}
