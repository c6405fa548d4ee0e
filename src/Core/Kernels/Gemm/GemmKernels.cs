using DSConvService.Core.Hardware;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// Chooses the fp32 micro-kernel from <see cref="CpuCapabilities"/> (the hardware, capped by DSCONV_ISA or
/// forced by a test), the same value the DSConv kernels ask.
/// </summary>
public static class GemmKernels
{
    private static readonly AsyncLocal<IGemmMicroKernel?> Forced = new();

    /// <summary>The kernel operators use (read when an operator is created).</summary>
    public static IGemmMicroKernel Default => Forced.Value ?? For(CpuCapabilities.Current);

    /// <summary>The widest kernel <paramref name="caps"/> allow.</summary>
    public static IGemmMicroKernel For(CpuCapabilities caps) => Get(Best(caps));

    public static GemmIsa Best(CpuCapabilities caps) =>
        IsSupported(GemmIsa.Avx512, caps) ? GemmIsa.Avx512 : IsSupported(GemmIsa.Avx2, caps) ? GemmIsa.Avx2 : GemmIsa.Scalar;

    /// <summary>
    /// Makes operators created in this async flow (e.g. one test) use the given ISA until the returned
    /// scope is disposed; other threads and tests are not affected.
    /// </summary>
    public static IDisposable Force(GemmIsa isa)
    {
        var previous = Forced.Value;
        Forced.Value = Get(isa);
        return new Scope(() => Forced.Value = previous);
    }

    private sealed class Scope(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }

    public static bool IsSupported(GemmIsa isa, CpuCapabilities caps) => isa switch
    {
        GemmIsa.Avx512 => caps.Avx512F && caps.Fma && caps.Vector512,
        GemmIsa.Avx2 => caps.Avx2Fma,
        _ => true,
    };

    /// <summary>True when the hardware can run <paramref name="isa"/>.</summary>
    public static bool IsSupported(GemmIsa isa) => IsSupported(isa, CpuCapabilities.Hardware);

    /// <summary>A specific kernel (tests call every supported one directly).</summary>
    public static IGemmMicroKernel Get(GemmIsa isa)
    {
        if (!IsSupported(isa))
        {
            throw new PlatformNotSupportedException($"This CPU cannot run the {isa} GEMM kernel.");
        }
        return isa switch
        {
            GemmIsa.Avx512 => Avx512MicroKernel.Instance,
            GemmIsa.Avx2 => Avx2MicroKernel.Instance,
            _ => ScalarMicroKernel.Instance,
        };
    }

    public static IEnumerable<GemmIsa> Supported() => Enum.GetValues<GemmIsa>().Where(i => IsSupported(i));
}
