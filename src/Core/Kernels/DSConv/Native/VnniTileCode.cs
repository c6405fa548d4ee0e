using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace DSConvService.Core.Kernels.DSConv.Native;

/// <summary>
/// Machine code of <see cref="Avx512VnniKernel"/>, written with the Iced assembler: the loop of
/// <see cref="Avx512Int16Kernel"/> with each step's vpmaddubsw/vpaddw pair replaced by one 512-bit vpdpbusd
/// (u8 activations × s8 weights, four products into an int32 lane), which .NET 10 cannot emit.
/// Calling convention System V x64: rdi = <see cref="TileArgs"/>*. No stack use beyond the saved registers.
/// <para>Registers: r8 A, r9 AOffsets (one int per step, advancing), r10 S, r11 SOffsets (per block), rsi Q
/// (16 bytes per step: one dword per row), rdx Xi and rcx Correction (4 per block), eax blocks left, ebx steps per
/// block, r12d steps left, r13 scratch offset, r15 C. zmm0–7 the int32 block sums (row r: zmm 2r, 2r+1 for pixels
/// 0–15, 16–31), zmm8–9 activations then scales, zmm16–23 the float tile C.</para>
/// </summary>
internal static class VnniTileCode
{
    public static byte[] Build()
    {
        var a = new Assembler(64);
        var s = new[] { zmm0, zmm1, zmm2, zmm3, zmm4, zmm5, zmm6, zmm7 };
        var c = new[] { zmm16, zmm17, zmm18, zmm19, zmm20, zmm21, zmm22, zmm23 };
        var blockLoop = a.CreateLabel();
        var stepLoop = a.CreateLabel();
        var done = a.CreateLabel();

        NativeCode.Save(a, rbx, r12, r13, r15);
        a.mov(r8, __qword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.A))]);
        a.mov(r9, __qword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.AOffsets))]);
        a.mov(r10, __qword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.S))]);
        a.mov(r11, __qword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.SOffsets))]);
        a.mov(rsi, __qword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.Q))]);
        a.mov(rdx, __qword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.Xi))]);
        a.mov(rcx, __qword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.Correction))]);
        a.mov(eax, __dword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.KBlocks))]);
        a.mov(ebx, __dword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.StepsPerBlock))]);
        a.mov(r15, __qword_ptr[rdi + NativeCode.Offset<TileArgs>(nameof(TileArgs.C))]);
        NativeCode.Zero(a, c);
        a.test(eax, eax);
        a.jle(done);

        a.Label(ref blockLoop);
        NativeCode.Zero(a, s);
        a.mov(r12d, ebx);
        a.Label(ref stepLoop);
        a.movsxd(r13, __dword_ptr[r9]);
        a.vmovdqu8(zmm8, __zmmword_ptr[r8 + r13]);
        a.vmovdqu8(zmm9, __zmmword_ptr[r8 + r13 + 64]);
        for (var row = 0; row < PackedWeights.Rows; row++)
        {
            a.vpdpbusd(s[2 * row], zmm8, __dword_bcst[rsi + 4 * row]);
            a.vpdpbusd(s[2 * row + 1], zmm9, __dword_bcst[rsi + 4 * row]);
        }
        a.add(r9, 4);
        a.add(rsi, 16);
        a.dec(r12d);
        a.jnz(stepLoop);

        // Block epilogue, the same operations in the same order as Avx512Int16Kernel's: C += ξ · (S · float(sum − corr)).
        a.movsxd(r13, __dword_ptr[r11]);
        a.add(r11, 4);
        a.vmovups(zmm8, __zmmword_ptr[r10 + r13 * 4]);
        a.vmovups(zmm9, __zmmword_ptr[r10 + r13 * 4 + 64]);
        for (var row = 0; row < PackedWeights.Rows; row++)
        {
            for (var half = 0; half < 2; half++)
            {
                var sum = s[2 * row + half];
                a.vpsubd(sum, sum, __dword_bcst[rcx + 4 * row]);
                a.vcvtdq2ps(sum, sum);
                a.vmulps(sum, sum, half == 0 ? zmm8 : zmm9);
                a.vfmadd231ps(c[2 * row + half], sum, __dword_bcst[rdx + 4 * row]);
            }
        }
        a.add(rcx, 16);
        a.add(rdx, 16);
        a.dec(eax);
        a.jnz(blockLoop);

        a.Label(ref done);
        for (var i = 0; i < c.Length; i++)
        {
            a.vmovups(__zmmword_ptr[r15 + 64 * i], c[i]);
        }
        a.vzeroupper();
        NativeCode.Restore(a, rbx, r12, r13, r15);
        a.ret();

        return NativeCode.Bytes(a);
    }
}
