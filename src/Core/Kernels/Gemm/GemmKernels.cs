using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DSConvService.Core.Kernels.Gemm;

/// <summary>
/// Chooses the fp32 micro-kernel once from the CPU's features. The environment variable
/// DSCONV_GEMM_ISA (scalar | avx2 | avx512) caps the choice, e.g. to run the whole engine on a fallback path.
/// </summary>
public static class GemmKernels
{
    private static readonly Lazy<IGemmMicroKernel> Best = new(() => Get(Detect()));
    private static readonly AsyncLocal<IGemmMicroKernel?> Forced = new();

    /// <summary>The kernel operators use (read when an operator is created).</summary>
    public static IGemmMicroKernel Default => Forced.Value ?? Best.Value;

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

    public static bool IsSupported(GemmIsa isa) => isa switch
    {
        GemmIsa.Avx512 => Avx512F.IsSupported && Fma.IsSupported && Vector512.IsHardwareAccelerated,
        GemmIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

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

    public static IEnumerable<GemmIsa> Supported() => Enum.GetValues<GemmIsa>().Where(IsSupported);

    private static GemmIsa Detect()
    {
        var cap = Environment.GetEnvironmentVariable("DSCONV_GEMM_ISA")?.Trim().ToLowerInvariant() switch
        {
            "scalar" => GemmIsa.Scalar,
            "avx2" => GemmIsa.Avx2,
            _ => GemmIsa.Avx512,
        };
        for (var isa = cap; isa > GemmIsa.Scalar; isa--)
        {
            if (IsSupported(isa))
            {
                return isa;
            }
        }
        return GemmIsa.Scalar;
    }
}
