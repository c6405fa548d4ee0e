using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DSConvService.Core.Kernels.Conv;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Kernels.Pooling;

/// <summary>
/// Max pooling on blocks of 8 planes, the layout of <see cref="DepthwiseChannelBlocked"/>: each block's planes are
/// transposed once into a buffer of 8 interleaved channels per pixel whose border holds float.MinValue (padding never
/// wins), then every tap of every output is one full-width vmaxps and 8 outputs go back to their planes through one 8×8
/// transpose. The per-plane kernels pay their row bookkeeping once per row of every plane, which on GoogLeNet's
/// 14×14 and 28×28 maps costs several times the maxes themselves.
/// </summary>
internal static unsafe class MaxPoolChannelBlocked
{
    private const int Lanes = 8;

    /// <summary>Below this many window taps in total a layer runs on the calling thread.</summary>
    private const long ParallelTaps = 1 << 15;

    private static readonly int MaxParts = Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <summary>Whether this CPU runs the kernel (AVX2).</summary>
    public static bool Supported => Avx2.IsSupported;

    /// <summary>
    /// Whether this kernel is the faster one (`bench pool`, 1 thread, Zen 4): every window of the suite with output rows of
    /// at most <see cref="MaxOutputWidth"/> (GoogLeNet's 3×3/1 on 480x14x14 0.668 → 0.113 ms, 192x28x28 0.354 → 0.135,
    /// its 3×3/2 on 480x28x28 0.370 → 0.147, ResNet18's 64x112x112 0.307 → 0.230), once there are
    /// <see cref="MinPlanes"/> planes to amortise the offset table (LeNet's 6x28x28 2×2/2: 0.002 against 0.010 ms; ShuffleNet's
    /// 24x112x112 3×3/2 0.111 → 0.094). Not the 3×3 windows of stride 1, nor with AVX-512 those of stride 2: their
    /// per-plane kernels are faster (Zen 5, 3×3/2: 64x111x111 0.193 → 0.111 ms, 64x112x112 0.175 → 0.118, 256x27x27
    /// 0.054 → 0.051).
    /// </summary>
    public static bool Applies(in PoolWindow g, int planes) =>
        Supported && g.OutputW <= MaxOutputWidth && planes >= MinPlanes && !MaxPool3x3Stride1.Applies(g)
        && !(MaxPool3x3Stride2.Applies(g) && Avx512F.IsSupported);

    /// <summary>Widest output row taken (see <see cref="Applies"/>).</summary>
    public const int MaxOutputWidth = 56;

    /// <summary>Fewest planes (batch × channels) taken (see <see cref="Applies"/>).</summary>
    public const int MinPlanes = 16;

    /// <summary>Padded rows, and columns rounded up so that the 8 pixels of a row's last group read inside the row.</summary>
    private static (int Rows, int Columns) PaddedSize(in PoolWindow g) =>
        ((g.OutputH - 1) * g.StrideH + (g.KernelH - 1) * g.DilationH + 1,
         ((g.OutputW + Lanes - 1) / Lanes * Lanes - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1);

    // Per thread: the padded block and the drop pixel after it (input pixels no window reads).
    private static long PartFloats(in PoolWindow g)
    {
        var (rows, columns) = PaddedSize(g);
        return (long)rows * columns * Lanes + Lanes;
    }

    private static long OffsetFloats(in PoolWindow g) => ((long)g.InputH * g.InputW + Lanes - 1) / Lanes * Lanes;

    /// <summary>Scratch floats <see cref="Run"/> needs, whatever the thread count.</summary>
    public static long ScratchFloats(in PoolWindow g) => OffsetFloats(g) + MaxParts * PartFloats(g);

    /// <summary>y[p] = max pool of x[p] for <paramref name="planes"/> consecutive planes (batch × channels).</summary>
    public static void Run(float* x, float* y, int planes, in PoolWindow g, float* scratch, int threads)
    {
        var blocks = (planes + Lanes - 1) / Lanes;
        var taps = (long)planes * g.OutputH * g.OutputW * g.KernelH * g.KernelW;
        var parts = taps < ParallelTaps ? 1 : Math.Clamp(threads, 1, Math.Min(blocks, MaxParts));
        var offsets = (int*)scratch;
        FillOffsets(g, offsets);
        var perPart = PartFloats(g);
        var (ax, ay, asc) = ((nint)x, (nint)y, (nint)(scratch + OffsetFloats(g)));
        var window = g;
        CpuParallel.For(parts, parts, (p0, p1) =>
        {
            for (var part = p0; part < p1; part++)
            {
                var (first, end) = CpuParallel.Chunk(blocks, parts, part);
                var padded = (float*)asc + part * perPart;
                for (var b = first; b < end; b++)
                {
                    var p = b * Lanes;
                    var count = Math.Min(Lanes, planes - p);
                    RunBlock((float*)ax + (long)p * window.InputH * window.InputW, count, (float*)ay + (long)p * window.OutputH * window.OutputW,
                        window, offsets, padded);
                }
            }
        });
    }

    private static void FillOffsets(in PoolWindow g, int* offsets)
    {
        var (rows, columns) = PaddedSize(g);
        ChannelBlockPadding.FillOffsets(rows, columns, g.PadTop, g.PadLeft, g.InputH, g.InputW, offsets);
    }

    private static void RunBlock(float* planes, int count, float* output, in PoolWindow g, int* offsets, float* padded)
    {
        var (rows, columns) = PaddedSize(g);
        // float.MinValue in the padding: it never wins a max.
        ChannelBlockPadding.FillBorder(padded, rows, columns, g.PadTop, g.PadLeft, g.InputH, g.InputW, float.MinValue);
        ChannelBlockTranspose256.PlanesToPixels(planes, (long)g.InputH * g.InputW, count, g.InputH * g.InputW, offsets, padded, default(IdentityMap256));
        var rowFloats = (long)columns * Lanes;
        var plane = (long)g.OutputH * g.OutputW;
        for (var oy = 0; oy < g.OutputH; oy++)
        {
            Row(padded + oy * g.StrideH * rowFloats, rowFloats, g, output + (long)oy * g.OutputW, plane, count);
        }
    }

    // One output row of the block: 8 outputs at a time, the max over the window's taps in 8 registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row(float* rows, long rowFloats, in PoolWindow g, float* y, long plane, int count)
    {
        var step = (long)g.StrideW * Lanes;
        var tapStep = g.DilationW * Lanes;
        var rowStep = g.DilationH * rowFloats;
        var t = stackalloc float[Lanes * Lanes];
        for (var ox = 0; ox < g.OutputW; ox += Lanes)
        {
            var m0 = Vector256.Create(float.MinValue);
            Vector256<float> m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0, m6 = m0, m7 = m0;
            var r = rows + ox * step;
            for (var ky = 0; ky < g.KernelH; ky++, r += rowStep)
            {
                var p = r;
                for (var kx = 0; kx < g.KernelW; kx++, p += tapStep)
                {
                    m0 = Vector256.MaxNative(m0, Vector256.Load(p));
                    m1 = Vector256.MaxNative(m1, Vector256.Load(p + step));
                    m2 = Vector256.MaxNative(m2, Vector256.Load(p + 2 * step));
                    m3 = Vector256.MaxNative(m3, Vector256.Load(p + 3 * step));
                    m4 = Vector256.MaxNative(m4, Vector256.Load(p + 4 * step));
                    m5 = Vector256.MaxNative(m5, Vector256.Load(p + 5 * step));
                    m6 = Vector256.MaxNative(m6, Vector256.Load(p + 6 * step));
                    m7 = Vector256.MaxNative(m7, Vector256.Load(p + 7 * step));
                }
            }
            var n = Math.Min(Lanes, g.OutputW - ox);
            if (n == Lanes)
            {
                ChannelBlockTranspose256.BlockToPlanes(m0, m1, m2, m3, m4, m5, m6, m7, y + ox, plane, count);
                continue;
            }
            // The row's last, partial group: through the stack, n outputs per plane.
            ChannelBlockTranspose256.BlockToPlanes(m0, m1, m2, m3, m4, m5, m6, m7, t, Lanes, Lanes);
            for (var c = 0; c < count; c++)
            {
                new ReadOnlySpan<float>(t + c * Lanes, n).CopyTo(new Span<float>(y + c * plane + ox, n));
            }
        }
    }
}
