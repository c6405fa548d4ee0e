using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv.Native;

namespace DSConvService.Core.Kernels.DSConv;

/// <summary>The micro-kernels of the integer DSConv GEMM.</summary>
public enum DSConvIsa
{
    /// <summary>Chosen at run time: the fastest kernel that is exact for the layer's bit widths.</summary>
    Auto,
    Scalar,

    /// <summary>256-bit vpmaddubsw with int16 accumulation; 8-bit weights with 8-bit mantissas on vpmaddwd (<see cref="Avx2WideKernel"/>); needs AVX2 and FMA.</summary>
    Avx2,

    /// <summary>256-bit vpdpbusd (u8·s8 quads into int32): exact for every bit width.</summary>
    AvxVnni,

    /// <summary>
    /// 512-bit vpmaddubsw + vpaddw accumulation in int16, widened once per chunk of <see cref="DSConvIsaSupport.Int16Steps"/>
    /// steps (research int16-accumulation); 8-bit weights as two nibbles.
    /// </summary>
    Avx512Int16,

    /// <summary>
    /// 512-bit vpdpbusd (AVX512-VNNI) from machine code generated at start (<see cref="Avx512VnniKernel"/>): exact for
    /// every bit width, 8-bit weights unsplit; the AVX-512 packers, stores and the other paths as <see cref="Avx512Int16"/>.
    /// </summary>
    Avx512Vnni,
}

public static class DSConvIsaSupport
{
    public static bool IsSupported(DSConvIsa isa, CpuCapabilities caps) => isa switch
    {
        DSConvIsa.Auto or DSConvIsa.Scalar => true,
        DSConvIsa.Avx2 => caps.Avx2Fma,
        DSConvIsa.AvxVnni => caps.Avx2Fma && caps.AvxVnni,
        DSConvIsa.Avx512Int16 => caps.Avx512,
        DSConvIsa.Avx512Vnni => caps.Avx512 && caps.Avx512Vnni && Avx512VnniKernel.Available,
        _ => false,
    };

    /// <summary>True when the hardware can run <paramref name="isa"/>.</summary>
    public static bool IsSupported(DSConvIsa isa) => IsSupported(isa, CpuCapabilities.Hardware);

    /// <summary>Every concrete kernel this machine can run (for tests and benchmarks).</summary>
    public static IReadOnlyList<DSConvIsa> Available =>
        new[] { DSConvIsa.Scalar, DSConvIsa.Avx2, DSConvIsa.AvxVnni, DSConvIsa.Avx512Int16, DSConvIsa.Avx512Vnni }.Where(i => IsSupported(i)).ToArray();

    /// <summary>
    /// Steps of 4 K (pairs of u8·s8 products, two per int16 lane) that can be summed in int16 without
    /// overflow: activations u ∈ [0, 2^M-1], weights |q| ≤ 2^(b-1). 0 when not even one step fits.
    /// </summary>
    public static int Int16Steps(int weightBits, int mantissaBits)
    {
        var pairMax = 2 * ((1 << mantissaBits) - 1) * (1 << (weightBits - 1));
        return short.MaxValue / pairMax;
    }

    /// <summary>
    /// Steps whose offset-free sum Σ m·q fits int16 in every lane: |m·q| ≤ 2^(M−1)·2^(b−1), two products per lane
    /// and step. Unlike <see cref="Int16Steps"/> this bounds the final value only (wrapping adds), for
    /// <see cref="Avx2FoldedKernel"/>.
    /// </summary>
    public static int FoldedInt16Steps(int weightBits, int mantissaBits) => short.MaxValue / (1 << (mantissaBits + weightBits - 1));

    /// <summary>
    /// True when <see cref="DSConvIsa.Avx2"/> runs the layer on <see cref="Avx2FoldedKernel"/>: one u8·s8 pair cannot
    /// saturate and a whole block of <paramref name="stepsPerBlock"/> steps fits <see cref="FoldedInt16Steps"/>.
    /// </summary>
    public static bool UsesFoldedCorrection(DSConvIsa isa, int weightBits, int mantissaBits, int stepsPerBlock) =>
        isa is DSConvIsa.Avx2 && Int16Steps(weightBits, mantissaBits) >= 1 && FoldedInt16Steps(weightBits, mantissaBits) >= stepsPerBlock;

    /// <summary>
    /// True when the AVX-512 int16-accumulating kernel must run the weights as two 4-bit halves to stay exact
    /// (8-bit weights with 8-bit mantissas: a u8·s8 pair can reach 65280). Every kernel is exact.
    /// </summary>
    public static bool NeedsNibbleSplit(DSConvIsa isa, int weightBits, int mantissaBits) =>
        isa is DSConvIsa.Avx512Int16 && Int16Steps(weightBits, mantissaBits) == 0;

    /// <summary>
    /// True when <see cref="DSConvIsa.Avx2"/> runs the layer on <see cref="Avx2WideKernel"/> (int16 weights,
    /// vpmaddwd into int32) instead of <see cref="Avx2Kernel"/>: for the widths where not even one int16 step fits.
    /// </summary>
    public static bool UsesWideWeights(DSConvIsa isa, int weightBits, int mantissaBits) =>
        isa is DSConvIsa.Avx2 && Int16Steps(weightBits, mantissaBits) == 0;

    /// <summary>True for the two 512-bit kernels, which share every path but the pixel tile's micro-kernel.</summary>
    public static bool IsAvx512(DSConvIsa isa) => isa is DSConvIsa.Avx512Int16 or DSConvIsa.Avx512Vnni;

    /// <summary>
    /// The kernel used for <see cref="DSConvIsa.Auto"/>: 512-bit VNNI where its run-time code runs; else AVX-512 int16
    /// accumulation, unless it would have to split the weights into nibbles and 256-bit VNNI is there; then AvxVnni,
    /// AVX2, scalar.
    /// </summary>
    public static DSConvIsa Best(int weightBits, int mantissaBits, CpuCapabilities? capabilities = null)
    {
        var caps = capabilities ?? CpuCapabilities.Current;
        if (IsSupported(DSConvIsa.Avx512Vnni, caps))
        {
            return DSConvIsa.Avx512Vnni;
        }
        if (IsSupported(DSConvIsa.Avx512Int16, caps)
            && !(NeedsNibbleSplit(DSConvIsa.Avx512Int16, weightBits, mantissaBits) && IsSupported(DSConvIsa.AvxVnni, caps)))
        {
            return DSConvIsa.Avx512Int16;
        }
        foreach (var isa in new[] { DSConvIsa.AvxVnni, DSConvIsa.Avx2 })
        {
            if (IsSupported(isa, caps))
            {
                return isa;
            }
        }
        return DSConvIsa.Scalar;
    }

    /// <summary>The instruction-set level a kernel runs at, as <see cref="CpuCapabilities.Level"/> names it.</summary>
    public static string Level(DSConvIsa isa) => isa switch
    {
        DSConvIsa.Avx512Int16 => "avx512",
        DSConvIsa.Avx512Vnni => "avx512vnni",
        DSConvIsa.AvxVnni => "avxvnni",
        DSConvIsa.Avx2 => "avx2",
        _ => "scalar",
    };
}
