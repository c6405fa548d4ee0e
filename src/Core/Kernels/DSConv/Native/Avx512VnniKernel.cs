using System.Runtime.CompilerServices;
using DSConvService.Core.Hardware;

namespace DSConvService.Core.Kernels.DSConv.Native;

/// <summary>
/// 4 rows × 32 pixels with 512-bit vpdpbusd (AVX512-VNNI): int32 block sums straight from u8·s8 quads, exact for
/// every weight and mantissa width, so 8-bit weights run unsplit. The code is generated once per process
/// (<see cref="VnniTileCode"/>) into W^X pages; C is written to <see cref="TileArgs.C"/>.
/// </summary>
public static unsafe class Avx512VnniKernel
{
    private static readonly Lazy<(nint Entry, string? Failure)> Code = new(Generate);

    /// <summary>True when the CPU has AVX512-VNNI and the kernel's code could be generated and mapped here.</summary>
    public static bool Available => HardwareHasVnni && Code.Value.Entry != 0;

    /// <summary>Why <see cref="Available"/> is false (null when it is true).</summary>
    public static string? Unavailable => !HardwareHasVnni ? "the CPU has no AVX512-VNNI" : Code.Value.Failure;

    private static bool HardwareHasVnni => CpuCapabilities.Hardware.Avx512Vnni;

    public static void Run(in TileArgs t)
    {
        var entry = (delegate* unmanaged[SuppressGCTransition]<TileArgs*, void>)Code.Value.Entry;
        if (entry == null)
        {
            throw new InvalidOperationException($"The AVX512-VNNI kernel is not available: {Unavailable}.");
        }
        entry((TileArgs*)Unsafe.AsPointer(ref Unsafe.AsRef(in t)));
    }

    private static (nint, string?) Generate()
    {
        if (!HardwareHasVnni)
        {
            return (0, "the CPU has no AVX512-VNNI");
        }
        if (!ExecutableMemory.Supported)
        {
            return (0, "run-time code needs Linux on x64");
        }
        try
        {
            return (ExecutableMemory.Publish(VnniTileCode.Build()), null);
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException)
        {
            return (0, e.Message);
        }
    }
}
