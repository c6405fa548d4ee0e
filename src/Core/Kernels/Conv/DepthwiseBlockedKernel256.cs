using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Core.Kernels.Conv;

/// <summary>
/// The hot loop of <see cref="DepthwiseChannelBlocked"/>: one output row of one block of 8 channels from the
/// zero-padded input of that block (8 interleaved floats per pixel). A vector is 8 channels of one pixel, so every
/// tap is one full-width load and one FMA whatever the stride or dilation, with no masks and no edge cases;
/// 8 output pixels are kept in registers and written to their 8 planes through one 8×8 transpose. A row's last,
/// partial group is computed the same way (its extra lanes read past the row, into the next padded row or the
/// slack after the block) and stored full width into the following output rows, which are written after it; only a
/// group whose store would leave the plane goes through the stack.
/// </summary>
internal static unsafe class DepthwiseBlockedKernel256
{
    /// <param name="rows">Padded input row oy·StrideH (8 floats per pixel).</param>
    /// <param name="paddedWidth">Pixels per padded row (<see cref="DepthwiseChannelBlocked.PaddedSize"/>).</param>
    /// <param name="w">Weights of the block: [tap][8].</param>
    /// <param name="y">Output row oy of the block's first plane; planes <paramref name="planeStride"/> floats apart.</param>
    /// <param name="planeLeft">Floats from <paramref name="y"/> to the end of its plane.</param>
    public static void Row(float* rows, int paddedWidth, float* w, Vector256<float> bias, in ConvGeometry g, FusedActivation act,
        float* y, long planeStride, int channels, int planeLeft)
    {
        if (DepthwiseWindowRows256.Applies(g))
        {
            var done = DepthwiseWindowRows256.Row(rows, paddedWidth, w, bias, g, act, y, planeStride, channels, planeLeft);
            if (done < g.OutWidth)
            {
                Tail(rows, w, bias, g, act, y, planeStride, channels, done, 8, 8, 8L * g.DilationH * paddedWidth);
            }
            return;
        }
        // Strides 1 and 2 as constants: the 8 loads of a tap then use displacements instead of computed offsets.
        switch (g.StrideW)
        {
            case 1:
                Row(rows, paddedWidth, w, bias, g, act, y, planeStride, channels, planeLeft, new PixelStep1());
                break;
            case 2:
                Row(rows, paddedWidth, w, bias, g, act, y, planeStride, channels, planeLeft, new PixelStep2());
                break;
            default:
                Row(rows, paddedWidth, w, bias, g, act, y, planeStride, channels, planeLeft, new PixelStepAny(8 * g.StrideW));
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row<TStep>(float* rows, int paddedWidth, float* w, Vector256<float> bias, in ConvGeometry g, FusedActivation act,
        float* y, long planeStride, int channels, int planeLeft, TStep pixel)
        where TStep : struct, IPixelStep
    {
        var kh = g.KernelH;
        var kw = g.KernelW;
        var tapStep = 8 * g.DilationW;
        var rowStep = 8L * g.DilationH * paddedWidth;
        var ox = 0;
        for (; ox < g.OutWidth && ox + 8 <= planeLeft; ox += 8)
        {
            Vector256<float> a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
            var r = rows + (long)ox * pixel.Floats;
            var wt = w;
            for (var ky = 0; ky < kh; ky++, r += rowStep)
            {
                var p = r;
                for (var kx = 0; kx < kw; kx++, p += tapStep, wt += 8)
                {
                    var wv = Vector256.Load(wt);
                    a0 = Fma.MultiplyAdd(Vector256.Load(p), wv, a0);
                    a1 = Fma.MultiplyAdd(Vector256.Load(p + pixel.Floats), wv, a1);
                    a2 = Fma.MultiplyAdd(Vector256.Load(p + 2 * pixel.Floats), wv, a2);
                    a3 = Fma.MultiplyAdd(Vector256.Load(p + 3 * pixel.Floats), wv, a3);
                    a4 = Fma.MultiplyAdd(Vector256.Load(p + 4 * pixel.Floats), wv, a4);
                    a5 = Fma.MultiplyAdd(Vector256.Load(p + 5 * pixel.Floats), wv, a5);
                    a6 = Fma.MultiplyAdd(Vector256.Load(p + 6 * pixel.Floats), wv, a6);
                    a7 = Fma.MultiplyAdd(Vector256.Load(p + 7 * pixel.Floats), wv, a7);
                }
            }
            ChannelBlockTranspose256.BlockToPlanes(ActivationVectors.Apply(a0, act), ActivationVectors.Apply(a1, act),
                ActivationVectors.Apply(a2, act), ActivationVectors.Apply(a3, act), ActivationVectors.Apply(a4, act),
                ActivationVectors.Apply(a5, act), ActivationVectors.Apply(a6, act), ActivationVectors.Apply(a7, act),
                y + ox, planeStride, channels);
        }
        if (ox < g.OutWidth)
        {
            Tail(rows, w, bias, g, act, y, planeStride, channels, ox, pixel.Floats, tapStep, rowStep);
        }
    }

    // The last outputs of a plane (fewer than 8, where a full-width store would leave it): the 8 outputs are computed
    // as in the row loop (the lanes past the row read the slack after the block), stored on the stack, and the first
    // ones copied out. Computing them one at a time was a chain of dependent FMAs, as long as the rest of a 7×7 plane.
    private static void Tail(float* rows, float* w, Vector256<float> bias, in ConvGeometry g, FusedActivation act,
        float* y, long planeStride, int channels, int ox0, int step, int tapStep, long rowStep)
    {
        var count = g.OutWidth - ox0;
        Vector256<float> a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
        var r = rows + (long)ox0 * step;
        var wt = w;
        for (var ky = 0; ky < g.KernelH; ky++, r += rowStep)
        {
            var p = r;
            for (var kx = 0; kx < g.KernelW; kx++, p += tapStep, wt += 8)
            {
                var wv = Vector256.Load(wt);
                a0 = Fma.MultiplyAdd(Vector256.Load(p), wv, a0);
                a1 = Fma.MultiplyAdd(Vector256.Load(p + step), wv, a1);
                a2 = Fma.MultiplyAdd(Vector256.Load(p + 2 * step), wv, a2);
                a3 = Fma.MultiplyAdd(Vector256.Load(p + 3 * step), wv, a3);
                a4 = Fma.MultiplyAdd(Vector256.Load(p + 4 * step), wv, a4);
                a5 = Fma.MultiplyAdd(Vector256.Load(p + 5 * step), wv, a5);
                a6 = Fma.MultiplyAdd(Vector256.Load(p + 6 * step), wv, a6);
                a7 = Fma.MultiplyAdd(Vector256.Load(p + 7 * step), wv, a7);
            }
        }
        var planes = stackalloc float[64];
        ChannelBlockTranspose256.BlockToPlanes(ActivationVectors.Apply(a0, act), ActivationVectors.Apply(a1, act),
            ActivationVectors.Apply(a2, act), ActivationVectors.Apply(a3, act), ActivationVectors.Apply(a4, act),
            ActivationVectors.Apply(a5, act), ActivationVectors.Apply(a6, act), ActivationVectors.Apply(a7, act), planes, 8, 8);
        for (var c = 0; c < channels; c++)
        {
            new ReadOnlySpan<float>(planes + 8 * c, count).CopyTo(new Span<float>(y + c * planeStride + ox0, count));
        }
    }
}

/// <summary>Floats between the first taps of neighbouring output pixels in a channel-blocked row (8 · StrideW).</summary>
internal interface IPixelStep
{
    int Floats { get; }
}

internal readonly struct PixelStep1 : IPixelStep
{
    public int Floats => 8;
}

internal readonly struct PixelStep2 : IPixelStep
{
    public int Floats => 16;
}

internal readonly struct PixelStepAny(int floats) : IPixelStep
{
    public int Floats => floats;
}
