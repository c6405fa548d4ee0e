using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace DSConvService.Core.Kernels.DSConv.Native;

/// <summary>
/// Machine code of <see cref="Avx512VnniKernel.RunChannel"/>: the loop of <see cref="Avx512ChannelKernel"/> (32 output
/// channels × 4 pixels, vectors across channels) with 512-bit vpdpbusd. Per step the two 16-row weight vectors are
/// loaded once and each pixel's activation dword is broadcast (vpdpbusd takes only its signed operand from memory).
/// System V x64: rdi = <see cref="ChannelTileArgs"/>*.
/// <para>Registers: r8–r11 A0–A3, rsi Q (128 bytes per step), rdx AOffsets and rcx SOffsets (advancing), rax Xi and
/// rbx Correction (32 per block), r12d blocks left, r13d steps left, r14 the step's or block's offset, r15 a scale
/// plane. zmm0–7 the int32 sums (pixel p: zmm 2p for rows 0–15, 2p+1 for rows 16–31), zmm8–13 operands,
/// zmm16–23 C.</para>
/// </summary>
internal static class VnniChannelTileCode
{
    public static byte[] Build()
    {
        var a = new Assembler(64);
        var s = new[] { zmm0, zmm1, zmm2, zmm3, zmm4, zmm5, zmm6, zmm7 };
        var c = new[] { zmm16, zmm17, zmm18, zmm19, zmm20, zmm21, zmm22, zmm23 };
        var act = new[] { zmm10, zmm11, zmm12, zmm13 };
        var planes = new[] { r8, r9, r10, r11 };
        var scales = new[] { nameof(ChannelTileArgs.S0), nameof(ChannelTileArgs.S1), nameof(ChannelTileArgs.S2), nameof(ChannelTileArgs.S3) };
        var blockLoop = a.CreateLabel();
        var stepLoop = a.CreateLabel();
        var done = a.CreateLabel();

        NativeCode.Save(a, rbx, r12, r13, r14, r15);
        a.mov(r8, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.A0))]);
        a.mov(r9, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.A1))]);
        a.mov(r10, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.A2))]);
        a.mov(r11, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.A3))]);
        a.mov(rsi, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.Q))]);
        a.mov(rdx, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.AOffsets))]);
        a.mov(rcx, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.SOffsets))]);
        a.mov(rax, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.Xi))]);
        a.mov(rbx, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.Correction))]);
        a.mov(r12d, __dword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.KBlocks))]);
        NativeCode.Zero(a, c);
        a.test(r12d, r12d);
        a.jle(done);

        a.Label(ref blockLoop);
        NativeCode.Zero(a, s);
        a.mov(r13d, __dword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.StepsPerBlock))]);
        a.Label(ref stepLoop);
        a.movsxd(r14, __dword_ptr[rdx]);
        a.vmovdqu8(zmm8, __zmmword_ptr[rsi]);
        a.vmovdqu8(zmm9, __zmmword_ptr[rsi + 64]);
        for (var p = 0; p < ChannelTileArgs.Pixels; p++)
        {
            a.vpbroadcastd(act[p], __dword_ptr[planes[p] + r14]);
        }
        for (var p = 0; p < ChannelTileArgs.Pixels; p++)
        {
            a.vpdpbusd(s[2 * p], act[p], zmm8);
            a.vpdpbusd(s[2 * p + 1], act[p], zmm9);
        }
        a.add(rdx, 4);
        a.add(rsi, 4 * ChannelPackedWeights.Rows);
        a.dec(r13d);
        a.jnz(stepLoop);

        // Block epilogue in Avx512ChannelKernel's order: C += ξ · (S · float(sum − corr)), ξ and corr vectors over rows.
        a.vmovups(zmm8, __zmmword_ptr[rax]);
        a.vmovups(zmm9, __zmmword_ptr[rax + 64]);
        a.vmovdqu32(zmm10, __zmmword_ptr[rbx]);
        a.vmovdqu32(zmm11, __zmmword_ptr[rbx + 64]);
        a.movsxd(r14, __dword_ptr[rcx]);
        a.add(rcx, 4);
        for (var p = 0; p < ChannelTileArgs.Pixels; p++)
        {
            a.mov(r15, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(scales[p])]);
            a.vbroadcastss(zmm12, __dword_ptr[r15 + r14 * 4]);
            for (var half = 0; half < 2; half++)
            {
                var sum = s[2 * p + half];
                a.vpsubd(sum, sum, half == 0 ? zmm10 : zmm11);
                a.vcvtdq2ps(sum, sum);
                a.vmulps(sum, sum, zmm12);
                a.vfmadd231ps(c[2 * p + half], sum, half == 0 ? zmm8 : zmm9);
            }
        }
        a.add(rax, 4 * ChannelPackedWeights.Rows);
        a.add(rbx, 4 * ChannelPackedWeights.Rows);
        a.dec(r12d);
        a.jnz(blockLoop);

        a.Label(ref done);
        a.mov(r15, __qword_ptr[rdi + NativeCode.Offset<ChannelTileArgs>(nameof(ChannelTileArgs.C))]);
        for (var i = 0; i < c.Length; i++)
        {
            a.vmovups(__zmmword_ptr[r15 + 64 * i], c[i]);
        }
        a.vzeroupper();
        NativeCode.Restore(a, rbx, r12, r13, r14, r15);
        a.ret();

        return NativeCode.Bytes(a);
    }
}
