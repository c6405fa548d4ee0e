using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.DSConv.Native;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// The micro-kernels called directly: with unit scales and ξ = 1 every output is an integer sum of
/// block sums, which each SIMD kernel must reproduce exactly (same integers as a scalar dot product).
/// </summary>
public unsafe class DSConvKernelTests
{
    [Theory]
    [InlineData(1, 1, 4)]
    [InlineData(3, 2, 4)]
    [InlineData(5, 8, 4)]
    [InlineData(2, 16, 3)]
    [InlineData(4, 4, 6)]
    [InlineData(2, 8, 7)]
    [InlineData(1, 64, 2)]
    [InlineData(3, 3, 7)]
    [InlineData(2, 5, 6)]
    [InlineData(1, 64, 7)]
    public void Block_Sums_Are_Exactly_The_Integer_Dot_Products(int blocks, int stepsPerBlock, int weightBits)
    {
        var int16Steps = DSConvIsaSupport.Int16Steps(weightBits, 8);
        foreach (var isa in DSConvIsaSupport.Available)
        {
            var rng = new Random(blocks * 100 + stepsPerBlock);
            var ksteps = blocks * stepsPerBlock;
            var a = new byte[ksteps * 128];
            rng.NextBytes(a);
            var q = DSConvTestData.RandomQ(rng, ksteps * 16, weightBits);
            var corr = new int[blocks * 4];
            for (var i = 0; i < corr.Length; i++)
            {
                corr[i] = rng.Next(-5000, 5000);
            }
            var s = Enumerable.Repeat(1f, blocks * 32).ToArray();
            var xi = Enumerable.Repeat(1f, blocks * 4).ToArray();
            var aOff = Enumerable.Range(0, ksteps).Select(k => k * 128).ToArray();
            var sOff = Enumerable.Range(0, blocks).Select(k => k * 32).ToArray();
            var c = new float[128];
            fixed (byte* pa = a)
            fixed (sbyte* pq = q)
            fixed (float* ps = s, pxi = xi, pc = c)
            fixed (int* pcorr = corr, pao = aOff, pso = sOff)
            {
                var t = new TileArgs
                {
                    A = pa, AOffsets = pao, S = ps, SOffsets = pso, Q = pq, Xi = pxi, Correction = pcorr,
                    KBlocks = blocks, StepsPerBlock = stepsPerBlock, Int16Steps = Math.Min(int16Steps, stepsPerBlock), C = pc,
                };
                switch (isa)
                {
                    case DSConvIsa.Avx512Int16: Avx512Int16Kernel.Run(t); break;
                    case DSConvIsa.Avx512Vnni: Avx512VnniKernel.Run(t); break;
                    case DSConvIsa.AvxVnni: AvxVnniKernel.Run(t); break;
                    case DSConvIsa.Avx2: Avx2Kernel.Run(t); break;
                    default: ScalarKernel.Run(t); break;
                }
            }
            for (var r = 0; r < 4; r++)
            {
                for (var p = 0; p < 32; p++)
                {
                    long expected = 0;
                    for (var kb = 0; kb < blocks; kb++)
                    {
                        long sum = 0;
                        for (var st = 0; st < stepsPerBlock; st++)
                        {
                            var ks = kb * stepsPerBlock + st;
                            for (var i = 0; i < 4; i++)
                            {
                                sum += a[ks * 128 + p * 4 + i] * q[(ks * 4 + r) * 4 + i];
                            }
                        }
                        expected += sum - corr[kb * 4 + r];
                    }
                    Assert.True(expected == (long)c[r * 32 + p], $"{isa}: row {r} pixel {p}: {c[r * 32 + p]} != {expected}");
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Avx2WideKernel"/> on int16 weights (the packing of <see cref="PackedWeights.WideWeights"/>):
    /// 8-bit weights over the whole range against u up to 255, plus a block of all-extreme products.
    /// </summary>
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(5, 8)]
    [InlineData(2, 16)]
    [InlineData(1, 64)]
    public void Wide_Kernel_Block_Sums_Are_Exactly_The_Integer_Dot_Products(int blocks, int stepsPerBlock)
    {
        if (!DSConvIsaSupport.IsSupported(DSConvIsa.Avx2))
        {
            return;
        }
        var rng = new Random(blocks * 31 + stepsPerBlock);
        var ksteps = blocks * stepsPerBlock;
        var a = new byte[ksteps * 128];
        rng.NextBytes(a);
        var q = DSConvTestData.RandomQ(rng, ksteps * 16, 8);
        // The last block: u = 255 against q = -128 everywhere (row 0) and q = 127 (row 1).
        for (var ks = (blocks - 1) * stepsPerBlock; ks < ksteps; ks++)
        {
            a.AsSpan(ks * 128, 128).Fill(255);
            q.AsSpan(ks * 16, 4).Fill(-128);
            q.AsSpan(ks * 16 + 4, 4).Fill(127);
        }
        // The wide packing: per (step, row) channels (0, 2, 1, 3).
        var q16 = q.Select((_, i) => (short)q[i - i % 4 + new[] { 0, 2, 1, 3 }[i % 4]]).ToArray();
        var corr = Enumerable.Range(0, blocks * 4).Select(_ => rng.Next(-50000, 50000)).ToArray();
        var s = Enumerable.Repeat(1f, blocks * 32).ToArray();
        var xi = Enumerable.Repeat(1f, blocks * 4).ToArray();
        var aOff = Enumerable.Range(0, ksteps).Select(k => k * 128).ToArray();
        var sOff = Enumerable.Range(0, blocks).Select(k => k * 32).ToArray();
        var c = new float[128];
        fixed (byte* pa = a)
        fixed (short* pq = q16)
        fixed (float* ps = s, pxi = xi, pc = c)
        fixed (int* pcorr = corr, pao = aOff, pso = sOff)
        {
            var t = new TileArgs
            {
                A = pa, AOffsets = pao, S = ps, SOffsets = pso, Q = (sbyte*)pq, Xi = pxi, Correction = pcorr,
                KBlocks = blocks, StepsPerBlock = stepsPerBlock, Int16Steps = 1, C = pc,
            };
            Avx2WideKernel.Run(t);
        }
        for (var r = 0; r < 4; r++)
        {
            for (var p = 0; p < 32; p++)
            {
                long expected = 0;
                for (var ks = 0; ks < ksteps; ks++)
                {
                    for (var i = 0; i < 4; i++)
                    {
                        expected += a[ks * 128 + p * 4 + i] * q[(ks * 4 + r) * 4 + i];
                    }
                }
                for (var kb = 0; kb < blocks; kb++)
                {
                    expected -= corr[kb * 4 + r];
                }
                Assert.True(expected == (long)c[r * 32 + p], $"row {r} pixel {p}: {c[r * 32 + p]} != {expected}");
            }
        }
    }

    /// <summary>
    /// <see cref="Avx2FoldedKernel"/>: accumulators started at −offset·Σq per lane pair, the steps of a block reached
    /// through <see cref="TileArgs.AStride"/>. Against the integer dot product of the mantissas m = u − 128, with
    /// blocks up to <see cref="DSConvIsaSupport.FoldedInt16Steps"/> steps, where the int16 adds wrap on the way;
    /// the last block is all extremes (m = −128 against q = −2^(b−1), the largest lane value).
    /// </summary>
    [Theory]
    [InlineData(1, 1, 4)]
    [InlineData(3, 2, 4)]
    [InlineData(5, 8, 4)]
    [InlineData(2, 15, 4)]
    [InlineData(4, 7, 5)]
    [InlineData(3, 3, 6)]
    [InlineData(2, 1, 7)]
    public void Folded_Kernel_Block_Sums_Are_Exactly_The_Integer_Dot_Products(int blocks, int stepsPerBlock, int weightBits)
    {
        if (!DSConvIsaSupport.IsSupported(DSConvIsa.Avx2))
        {
            return;
        }
        Assert.True(DSConvIsaSupport.UsesFoldedCorrection(DSConvIsa.Avx2, weightBits, 8, stepsPerBlock));
        const int offset = 128, stride = 160;
        var rng = new Random(blocks * 17 + stepsPerBlock + weightBits);
        var ksteps = blocks * stepsPerBlock;
        var a = new byte[ksteps * stride];
        rng.NextBytes(a);
        var q = DSConvTestData.RandomQ(rng, ksteps * 16, weightBits);
        for (var ks = (blocks - 1) * stepsPerBlock; ks < ksteps; ks++)
        {
            a.AsSpan(ks * stride, 128).Fill(0);
            q.AsSpan(ks * 16, 16).Fill((sbyte)-(1 << (weightBits - 1)));
        }
        // What PackedWeights stores: two int16 per (block, row), −offset·Σq of channels 0–1 and of 2–3.
        var pairs = new int[blocks * 4];
        for (var kb = 0; kb < blocks; kb++)
        {
            for (var r = 0; r < 4; r++)
            {
                int low = 0, high = 0;
                for (var st = 0; st < stepsPerBlock; st++)
                {
                    var e = ((kb * stepsPerBlock + st) * 4 + r) * 4;
                    low += q[e] + q[e + 1];
                    high += q[e + 2] + q[e + 3];
                }
                pairs[kb * 4 + r] = (ushort)(-offset * low) | (-offset * high << 16);
            }
        }
        var s = Enumerable.Repeat(1f, blocks * 32).ToArray();
        var xi = Enumerable.Repeat(1f, blocks * 4).ToArray();
        // Only the first offset of each block is read; the others are poisoned to prove it.
        var aOff = Enumerable.Range(0, ksteps).Select(k => k % stepsPerBlock == 0 ? k * stride : int.MinValue / 2).ToArray();
        var sOff = Enumerable.Range(0, blocks).Select(k => k * 32).ToArray();
        var c = new float[128];
        fixed (byte* pa = a)
        fixed (sbyte* pq = q)
        fixed (float* ps = s, pxi = xi, pc = c)
        fixed (int* ppairs = pairs, pao = aOff, pso = sOff)
        {
            var t = new TileArgs
            {
                A = pa, AOffsets = pao, S = ps, SOffsets = pso, Q = pq, Xi = pxi, CorrectionPairs = ppairs, AStride = stride,
                KBlocks = blocks, StepsPerBlock = stepsPerBlock, Int16Steps = 1, C = pc,
            };
            Avx2Kernel.Run(t);
        }
        for (var r = 0; r < 4; r++)
        {
            for (var p = 0; p < 32; p++)
            {
                long expected = 0;
                for (var ks = 0; ks < ksteps; ks++)
                {
                    for (var i = 0; i < 4; i++)
                    {
                        expected += (a[ks * stride + p * 4 + i] - offset) * q[(ks * 4 + r) * 4 + i];
                    }
                }
                Assert.True(expected == (long)c[r * 32 + p], $"row {r} pixel {p}: {c[r * 32 + p]} != {expected}");
            }
        }
    }

    [Theory]
    [InlineData(4, 8, 8, true)]
    [InlineData(4, 8, 15, true)]
    [InlineData(4, 8, 16, false)]
    [InlineData(5, 8, 8, false)]
    [InlineData(5, 8, 7, true)]
    [InlineData(8, 8, 1, false)]
    public void Folded_Correction_Is_Used_Only_Where_A_Block_Fits_Int16(int weightBits, int mantissaBits, int steps, bool folded)
    {
        Assert.Equal(folded, DSConvIsaSupport.UsesFoldedCorrection(DSConvIsa.Avx2, weightBits, mantissaBits, steps));
        Assert.False(DSConvIsaSupport.UsesFoldedCorrection(DSConvIsa.Scalar, weightBits, mantissaBits, steps));
    }
}
