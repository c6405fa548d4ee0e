using System.Runtime.CompilerServices;
using DSConvService.Core.Hardware;

namespace DSConvService.Core.Kernels.DSConv.Native;

/// <summary>
/// The DSConv micro-kernels on 512-bit vpdpbusd (AVX512-VNNI): int32 block sums straight from u8·s8 quads, exact for
/// every weight and mantissa width, so 8-bit weights run unsplit. .NET 10 cannot emit the instruction, so the code is
/// generated once per process (<see cref="VnniTileCode"/>, <see cref="VnniChannelTileCode"/>) into W^X pages and
/// called without a GC transition (each call is a sub-microsecond loop that touches no managed object).
/// </summary>
public static unsafe class Avx512VnniKernel
{
    private static readonly Lazy<(nint Tile, nint Channel, string? Failure)> Code = new(Generate);

    /// <summary>True when the CPU has AVX512-VNNI and the kernels' code could be generated and mapped here.</summary>
    public static bool Available => Code.Value.Failure is null;

    /// <summary>Why <see cref="Available"/> is false (null when it is true).</summary>
    public static string? Unavailable => Code.Value.Failure;

    /// <summary>The pixel tile (<see cref="Avx512Int16Kernel"/>'s contract): C[4][32] into <see cref="TileArgs.C"/>.</summary>
    public static void Run(in TileArgs t)
    {
        var entry = (delegate* unmanaged[SuppressGCTransition]<TileArgs*, void>)Entry(Code.Value.Tile);
        entry((TileArgs*)Unsafe.AsPointer(ref Unsafe.AsRef(in t)));
    }

    /// <summary>The channel tile (<see cref="Avx512ChannelKernel"/>'s contract): C[4 pixels][32 rows] into <see cref="ChannelTileArgs.C"/>.</summary>
    public static void RunChannel(in ChannelTileArgs t)
    {
        var entry = (delegate* unmanaged[SuppressGCTransition]<ChannelTileArgs*, void>)Entry(Code.Value.Channel);
        entry((ChannelTileArgs*)Unsafe.AsPointer(ref Unsafe.AsRef(in t)));
    }

    private static nint Entry(nint code) =>
        code != 0 ? code : throw new InvalidOperationException($"The AVX512-VNNI kernel is not available: {Unavailable}.");

    private static (nint, nint, string?) Generate()
    {
        if (!CpuCapabilities.Hardware.Avx512Vnni)
        {
            return (0, 0, "the CPU has no AVX512-VNNI");
        }
        if (!ExecutableMemory.Supported)
        {
            return (0, 0, "run-time code needs Linux on x64");
        }
        try
        {
            return (ExecutableMemory.Publish(VnniTileCode.Build()), ExecutableMemory.Publish(VnniChannelTileCode.Build()), null);
        }
        catch (Exception e) when (e is InvalidOperationException or PlatformNotSupportedException)
        {
            return (0, 0, e.Message);
        }
    }
}
