namespace DSConvService.Core.Hardware;

/// <summary>
/// The instruction sets the kernels may use. Read once from the hardware; every DSConv packer, store,
/// BFP simulator, epilogue and micro-kernel and the fp32 GEMM choice ask this value (the one the layer
/// captured when it was built) instead of the CPU, so a test or a benchmark can run the whole engine on a
/// fallback. <see cref="Current"/> is the hardware, capped by the environment variable DSCONV_ISA
/// (scalar | avx2 | avxvnni | avx512), or what <see cref="Force"/> set for this async flow.
/// </summary>
/// <param name="Vector512">The runtime accelerates <see cref="Vector512{T}"/> (the fp32 GEMM's AVX-512 kernel needs it).</param>
/// <param name="Avx512Vnni">The CPU has AVX512-VNNI (CPUID), which only run-time generated code can use (the DSConv Avx512Vnni kernel).</param>
/// <param name="Census">Null, or a counter of which code each kernel ran (tests attach one, see <see cref="KernelCensus"/>).</param>
public sealed record CpuCapabilities(bool Avx2, bool Fma, bool AvxVnni, bool Avx512F, bool Avx512BW, bool Vector512, bool Avx512Vnni = false, KernelCensus? Census = null)
{
    public const string EnvironmentVariable = "DSCONV_ISA";

    private static readonly AsyncLocal<CpuCapabilities?> Forced = new();

    /// <summary>What this machine has.</summary>
    public static CpuCapabilities Hardware { get; } = new(
        System.Runtime.Intrinsics.X86.Avx2.IsSupported, System.Runtime.Intrinsics.X86.Fma.IsSupported,
        System.Runtime.Intrinsics.X86.AvxVnni.IsSupported, System.Runtime.Intrinsics.X86.Avx512F.IsSupported,
        System.Runtime.Intrinsics.X86.Avx512BW.IsSupported, System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated,
        HasAvx512Vnni());

    private static readonly Lazy<CpuCapabilities> FromEnvironment = new(() => Hardware.Capped(Environment.GetEnvironmentVariable(EnvironmentVariable)));

    /// <summary>Nothing but scalar code.</summary>
    public static CpuCapabilities Scalar { get; } = new(false, false, false, false, false, false);

    /// <summary>What layers built now use: the forced value of this async flow, else the hardware capped by DSCONV_ISA.</summary>
    public static CpuCapabilities Current => Forced.Value ?? FromEnvironment.Value;

    /// <summary>AVX-512 F + BW: the 512-bit DSConv kernels, packers and stores.</summary>
    public bool Avx512 => Avx512F && Avx512BW;

    /// <summary>AVX2 + FMA: the 256-bit kernels (every AVX2 kernel here may use FMA).</summary>
    public bool Avx2Fma => Avx2 && Fma;

    /// <summary>The widest level, as DSCONV_ISA names it.</summary>
    public string Level => Avx512 ? "avx512" : Avx2Fma && AvxVnni ? "avxvnni" : Avx2Fma ? "avx2" : "scalar";

    /// <summary>
    /// Makes layers built in this async flow (e.g. one test) use <paramref name="capabilities"/>, limited to
    /// what the hardware has, until the returned scope is disposed; other flows are not affected.
    /// </summary>
    public static IDisposable Force(CpuCapabilities capabilities)
    {
        var previous = Forced.Value;
        Forced.Value = Hardware.Intersect(capabilities) with { Census = capabilities.Census };
        return new Scope(() => Forced.Value = previous);
    }

    /// <summary>
    /// This value limited to a level: scalar, avx2 (AVX2 + FMA), avxvnni (and 256-bit VNNI), avx512int16 (AVX-512
    /// without the run-time VNNI kernel), avx512 (everything); null or empty keeps it. Case is ignored; the kernel
    /// names Avx2, AvxVnni, Avx512Int16, Avx512Vnni are accepted too.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown level.</exception>
    public CpuCapabilities Capped(string? level) => level?.Trim().ToLowerInvariant() switch
    {
        null or "" or "avx512" or "avx512vnni" or "auto" => this,
        "avx512int16" => Intersect(this with { Avx512Vnni = false }),
        "avxvnni" => Intersect(this with { Avx512F = false, Avx512BW = false, Vector512 = false, Avx512Vnni = false }),
        "avx2" => Intersect(this with { AvxVnni = false, Avx512F = false, Avx512BW = false, Vector512 = false, Avx512Vnni = false }),
        "scalar" => Scalar with { Census = Census },
        _ => throw new ArgumentException($"{EnvironmentVariable}={level} is not a level: use scalar, avx2, avxvnni, avx512int16 or avx512."),
    };

    /// <summary>What both values have (the census of this one).</summary>
    public CpuCapabilities Intersect(CpuCapabilities other) => new(
        Avx2 && other.Avx2, Fma && other.Fma, AvxVnni && other.AvxVnni, Avx512F && other.Avx512F, Avx512BW && other.Avx512BW,
        Vector512 && other.Vector512, Avx512Vnni && other.Avx512Vnni, Census);

    public override string ToString() => Level;

    /// <summary>CPUID leaf 7, ECX bit 11, where the runtime uses 512-bit registers (so the OS saves them).</summary>
    private static bool HasAvx512Vnni() =>
        System.Runtime.Intrinsics.X86.Avx512BW.IsSupported && System.Runtime.Intrinsics.X86.X86Base.IsSupported
        && (System.Runtime.Intrinsics.X86.X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;

    private sealed class Scope(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
}
