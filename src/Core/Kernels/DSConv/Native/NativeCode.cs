using System.Runtime.InteropServices;
using Iced.Intel;

namespace DSConvService.Core.Kernels.DSConv.Native;

/// <summary>What the run-time kernels' generators share: field offsets of their argument structs, the callee-saved registers, zeroing, the bytes.</summary>
internal static class NativeCode
{
    /// <summary>Byte offset of <paramref name="field"/> in the blittable struct <typeparamref name="T"/> (the kernels' only argument).</summary>
    public static int Offset<T>(string field) where T : unmanaged => (int)Marshal.OffsetOf<T>(field);

    /// <summary>Pushes the System V callee-saved registers a kernel uses; <see cref="Restore"/> pops them in reverse.</summary>
    public static void Save(Assembler a, params AssemblerRegister64[] registers)
    {
        foreach (var r in registers)
        {
            a.push(r);
        }
    }

    public static void Restore(Assembler a, params AssemblerRegister64[] registers)
    {
        for (var i = registers.Length - 1; i >= 0; i--)
        {
            a.pop(registers[i]);
        }
    }

    public static void Zero(Assembler a, AssemblerRegisterZMM[] registers)
    {
        foreach (var r in registers)
        {
            a.vpxord(r, r, r);
        }
    }

    /// <summary>The code, position independent (only relative jumps), assembled at address 0.</summary>
    public static byte[] Bytes(Assembler a)
    {
        var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), 0);
        return stream.ToArray();
    }
}
