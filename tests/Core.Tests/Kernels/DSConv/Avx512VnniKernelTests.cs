using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Native;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// The run-time generated 512-bit VNNI tile kernel against the scalar formula of <see cref="TileArgs"/>: exact block
/// sums for 8-bit weights over their whole range (what the int16 kernels must split), the same floats as
/// <see cref="Avx512Int16Kernel"/> where both run (same epilogue order), and offsets that jump around A.
/// </summary>
public unsafe class Avx512VnniKernelTests
{
    /// <summary>Where the CPU has AVX512-VNNI on Linux x64 the kernel must be there: a failure to generate or map its code would otherwise only skip.</summary>
    [Fact]
    public void Is_Available_Wherever_The_Cpu_And_Os_Allow_It()
    {
        var possible = CpuCapabilities.Hardware.Avx512Vnni && CpuCapabilities.Hardware.Avx512 && OperatingSystem.IsLinux()
            && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64;
        Assert.Equal(possible, Avx512VnniKernel.Available);
        Assert.Equal(possible, DSConvIsaSupport.IsSupported(DSConvIsa.Avx512Vnni));
        Assert.True(possible == (Avx512VnniKernel.Unavailable is null), Avx512VnniKernel.Unavailable);
        if (possible)
        {
            Assert.Equal(DSConvIsa.Avx512Vnni, DSConvIsaSupport.Best(8, 8, CpuCapabilities.Hardware));
            Assert.Equal(DSConvIsa.Avx512Int16, DSConvIsaSupport.Best(4, 8, CpuCapabilities.Hardware.Capped("avx512int16")));
        }
    }

    [SkippableTheory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(5, 8)]
    [InlineData(2, 15)]
    [InlineData(1, 64)]
    [InlineData(7, 3)]
    public void Eight_Bit_Block_Sums_Are_Exact(int blocks, int stepsPerBlock)
    {
        Skip.IfNot(Avx512VnniKernel.Available, $"Avx512Vnni kernel: {Avx512VnniKernel.Unavailable}.");
        var rng = new Random(blocks * 31 + stepsPerBlock);
        var tile = new Tile(rng, blocks, stepsPerBlock, weightBits: 8, shuffledOffsets: true);
        // One block of all-extreme products: u = 255 against q = −128 everywhere.
        Array.Fill(tile.A, (byte)255, tile.AOff[0], 128);
        for (var r = 0; r < 16; r++)
        {
            tile.Q[r] = -128;
        }
        var c = tile.Run(Avx512VnniKernel.Run);
        for (var r = 0; r < 4; r++)
        {
            for (var p = 0; p < 32; p++)
            {
                Assert.True(tile.Expected(r, p) == (long)c[r * 32 + p], $"row {r} pixel {p}: {c[r * 32 + p]} != {tile.Expected(r, p)}");
            }
        }
    }

    [SkippableTheory]
    [InlineData(18, 8, 4)]
    [InlineData(3, 4, 4)]
    [InlineData(2, 8, 7)]
    [InlineData(9, 1, 5)]
    public void Same_Floats_As_The_Int16_Kernel_With_Real_Scales(int blocks, int stepsPerBlock, int weightBits)
    {
        Skip.IfNot(Avx512VnniKernel.Available, $"Avx512Vnni kernel: {Avx512VnniKernel.Unavailable}.");
        var rng = new Random(blocks + 1000 * weightBits);
        var tile = new Tile(rng, blocks, stepsPerBlock, weightBits, shuffledOffsets: false);
        for (var i = 0; i < tile.S.Length; i++)
        {
            tile.S[i] = MathF.ScaleB(1f, rng.Next(-12, -2));
        }
        for (var i = 0; i < tile.Xi.Length; i++)
        {
            tile.Xi[i] = (float)(rng.NextDouble() * 0.02);
        }
        var vnni = tile.Run(Avx512VnniKernel.Run);
        var int16 = tile.Run(Avx512Int16Kernel.Run);
        Assert.Equal(int16, vnni);
        var scalar = tile.Run(ScalarKernel.Run);
        for (var i = 0; i < 128; i++)
        {
            Assert.True(MathF.Abs(scalar[i] - vnni[i]) <= 1e-5f * (1 + MathF.Abs(scalar[i])), $"element {i}: {vnni[i]} vs scalar {scalar[i]}");
        }
    }

    private delegate void Kernel(in TileArgs t);

    private sealed class Tile
    {
        private readonly int _blocks;
        private readonly int _steps;
        private readonly int _int16Steps;

        public Tile(Random rng, int blocks, int steps, int weightBits, bool shuffledOffsets)
        {
            _blocks = blocks;
            _steps = steps;
            _int16Steps = Math.Max(1, Math.Min(steps, DSConvIsaSupport.Int16Steps(weightBits, 8)));
            var ksteps = blocks * steps;
            A = new byte[(ksteps + 3) * 128];
            rng.NextBytes(A);
            Q = DSConvTestData.RandomQ(rng, ksteps * 16, weightBits);
            Correction = Enumerable.Range(0, blocks * 4).Select(_ => rng.Next(-50000, 50000)).ToArray();
            S = Enumerable.Repeat(1f, blocks * 32 + 64).ToArray();
            Xi = Enumerable.Repeat(1f, blocks * 4).ToArray();
            // Steps read A out of order (as im2col-free layouts do), scales of a block start anywhere.
            var order = Enumerable.Range(0, ksteps + 3).ToArray();
            if (shuffledOffsets)
            {
                rng.Shuffle(order);
            }
            AOff = order.Take(ksteps).Select(k => k * 128).ToArray();
            SOff = Enumerable.Range(0, blocks).Select(k => shuffledOffsets ? rng.Next(0, blocks * 32 + 32) : k * 32).ToArray();
        }

        public byte[] A { get; }
        public sbyte[] Q { get; }
        public int[] Correction { get; }
        public float[] S { get; }
        public float[] Xi { get; }
        public int[] AOff { get; }
        public int[] SOff { get; }

        public float[] Run(Kernel kernel)
        {
            var c = new float[128];
            Array.Fill(c, float.NaN);
            fixed (byte* pa = A)
            fixed (sbyte* pq = Q)
            fixed (float* ps = S, pxi = Xi, pc = c)
            fixed (int* pcorr = Correction, pao = AOff, pso = SOff)
            {
                var t = new TileArgs
                {
                    A = pa, AOffsets = pao, S = ps, SOffsets = pso, Q = pq, Xi = pxi, Correction = pcorr,
                    KBlocks = _blocks, StepsPerBlock = _steps, Int16Steps = _int16Steps, C = pc,
                };
                kernel(t);
            }
            return c;
        }

        /// <summary>Σ over blocks of (Σ q·u − corr) for unit scales, in 64-bit integers.</summary>
        public long Expected(int r, int p)
        {
            long total = 0;
            for (var kb = 0; kb < _blocks; kb++)
            {
                long sum = 0;
                for (var st = 0; st < _steps; st++)
                {
                    var ks = kb * _steps + st;
                    for (var i = 0; i < 4; i++)
                    {
                        sum += A[AOff[ks] + p * 4 + i] * Q[(ks * 4 + r) * 4 + i];
                    }
                }
                total += sum - Correction[kb * 4 + r];
            }
            return total;
        }
    }
}
