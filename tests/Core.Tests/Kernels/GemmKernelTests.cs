using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Threading;
using Xunit;

namespace DSConvService.Core.Tests.Kernels;

/// <summary>The packed GEMM (every ISA micro-kernel, called directly) against a naive double-precision reference.</summary>
public sealed unsafe class GemmKernelTests
{
    private const double Tolerance = 1e-5;

    public static TheoryData<GemmIsa> Isas()
    {
        var data = new TheoryData<GemmIsa>();
        foreach (var isa in GemmKernels.Supported())
        {
            data.Add(isa);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void MicroKernelMatchesReferenceForEveryWidth(GemmIsa isa)
    {
        var kernel = GemmKernels.Get(isa);
        var rng = new Random(1);
        foreach (var kc in new[] { 1, 2, 7, 33 })
        {
            for (var width = kernel.NRStep; width <= kernel.NR; width += kernel.NRStep)
            {
                var a = Random(rng, kc * kernel.MR);
                var b = Random(rng, kc * width);
                var ldc = width + 3;
                var c0 = Random(rng, kernel.MR * ldc);
                foreach (var accumulate in new[] { false, true })
                {
                    var c = (float[])c0.Clone();
                    fixed (float* pa = a, pb = b, pc = c)
                    {
                        kernel.Run(kc, pa, pb, width, pc, ldc, accumulate);
                    }
                    for (var r = 0; r < kernel.MR; r++)
                    {
                        for (var j = 0; j < width; j++)
                        {
                            double expected = accumulate ? c0[r * ldc + j] : 0;
                            for (var k = 0; k < kc; k++)
                            {
                                expected += (double)a[k * kernel.MR + r] * b[k * width + j];
                            }
                            Assert.True(Math.Abs(c[r * ldc + j] - expected) <= 1e-5 * (1 + Math.Abs(expected)),
                                $"{isa} kc={kc} width={width} acc={accumulate} ({r},{j}): {c[r * ldc + j]} vs {expected}");
                        }
                        for (var j = width; j < ldc; j++)
                        {
                            Assert.Equal(c0[r * ldc + j], c[r * ldc + j]);
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void NarrowPathMatchesReferenceForEveryRowAndColumnCount(GemmIsa isa)
    {
        var kernel = GemmKernels.Get(isa);
        var rng = new Random(5);
        var width = kernel.NRStep;
        foreach (var kc in new[] { 1, 3, 4, 9, 130 })
        {
            for (var cols = 1; cols <= kernel.NarrowCols; cols++)
            {
                for (var rows = 1; rows <= kernel.MR; rows++)
                {
                    var a = Random(rng, kc * kernel.MR);
                    var b = Random(rng, kc * width);
                    var ldc = 7;
                    var c0 = Random(rng, kernel.MR * ldc);
                    foreach (var accumulate in new[] { false, true })
                    {
                        var c = (float[])c0.Clone();
                        fixed (float* pa = a, pb = b, pc = c)
                        {
                            kernel.RunNarrow(kc, pa, pb, width, rows, cols, pc, ldc, accumulate);
                        }
                        for (var r = 0; r < kernel.MR; r++)
                        {
                            for (var j = 0; j < ldc; j++)
                            {
                                if (r >= rows || j >= cols)
                                {
                                    Assert.Equal(c0[r * ldc + j], c[r * ldc + j]);
                                    continue;
                                }
                                double expected = accumulate ? c0[r * ldc + j] : 0;
                                for (var k = 0; k < kc; k++)
                                {
                                    expected += (double)a[k * kernel.MR + r] * b[k * width + j];
                                }
                                Assert.True(Math.Abs(c[r * ldc + j] - expected) <= 1e-5 * (1 + Math.Abs(expected)),
                                    $"{isa} narrow kc={kc} rows={rows} cols={cols} ({r},{j}): {c[r * ldc + j]} vs {expected}");
                            }
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void SgemmMatchesReferenceOverSizeSweep(GemmIsa isa)
    {
        var kernel = GemmKernels.Get(isa);
        var rng = new Random(2);
        int[] ms = [1, 2, kernel.MR - 1, kernel.MR, kernel.MR + 1, 2 * kernel.MR + 3, 131];
        int[] ns = [1, 2, 3, 15, 16, 17, 47, 48, 49, 52, 53, 63, 97, 200];
        int[] ks = [1, 5, 16, 255, 256, 257, 600];
        var count = 0;
        foreach (var m in ms)
        {
            foreach (var n in ns)
            {
                foreach (var k in ks)
                {
                    // Keep the sweep affordable: the full cross product on small sizes, a sample of the big ones.
                    if ((long)m * n * k > 2_000_000 && (m + n + k) % 3 != 0)
                    {
                        continue;
                    }
                    CheckGemm(kernel, rng, m, n, k, transA: count % 2 == 1, transB: count % 3 == 1, prepackB: count % 4 == 2,
                        accumulate: count % 5 == 3, threads: 1 + count % 2, withEpilogue: count % 2 == 0);
                    count++;
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void LargeGemmSplitsOverRowsAndColumnsCorrectly(GemmIsa isa)
    {
        var kernel = GemmKernels.Get(isa);
        var rng = new Random(3);
        // Few columns, many rows: row split. Many columns: column split with several chunks.
        CheckGemm(kernel, rng, 256, 49, 700, false, false, false, false, 2, true);
        CheckGemm(kernel, rng, 64, 3136, 147, false, false, false, false, 2, true);
        CheckGemm(kernel, rng, 37, 1000, 520, true, true, true, true, 3, true);
        // Row ranges that do not start on the MC grid of the packed A.
        CheckGemm(kernel, rng, 300, 50, 300, false, false, false, true, 3, true);
    }

    [Fact]
    public void ConcurrentGemmsOnTwoThreadsEachAreCorrect()
    {
        // Only one caller gets CpuParallel's helper threads at a time; the others fall back to the thread pool.
        Parallel.For(0, 6, i => CheckGemm(GemmKernels.Default, new Random(10 + i), 64 + i, 300, 200, false, false, false, false, 2, true));
    }

    [Fact]
    public void ForceSelectsTheKernelOnlyInsideItsScope()
    {
        var before = GemmKernels.Default.Isa;
        using (GemmKernels.Force(GemmIsa.Scalar))
        {
            Assert.Equal(GemmIsa.Scalar, GemmKernels.Default.Isa);
        }
        Assert.Equal(before, GemmKernels.Default.Isa);
    }

    [Fact]
    public void EpilogueAppliesBiasAndEachActivation()
    {
        foreach (var isa in GemmKernels.Supported())
        {
            CheckEpilogues(GemmKernels.Get(isa));
        }
    }

    private static void CheckEpilogues(IGemmMicroKernel kernel)
    {
        var rng = new Random(4);
        foreach (var act in new[]
        {
            FusedActivation.None, FusedActivation.Relu, new FusedActivation(ActivationKind.Clip, -0.5f, 0.7f),
            new FusedActivation(ActivationKind.LeakyRelu, Alpha: 0.2f), new FusedActivation(ActivationKind.HardSwish, Alpha: 1f / 6, Beta: 0.5f),
            new FusedActivation(ActivationKind.Silu),
        })
        {
            CheckGemm(kernel, rng, 19, 70, 33, false, false, false, false, 2, true, act);
            // Whole tiles only, and K over several blocks (the epilogue after the last one) into an accumulated C.
            CheckGemm(kernel, rng, 12, 32, 5, false, false, false, false, 1, true, act);
            CheckGemm(kernel, rng, 13, 41, Sgemm.KC + 45, false, false, true, true, 2, true, act);
            // Row bias only (a convolution's): the form the AVX2 kernel applies to its accumulators, edge tiles after them.
            CheckGemm(kernel, rng, 12, 32, 5, false, false, false, false, 1, true, act, withColBias: false);
            CheckGemm(kernel, rng, 19, 70, 33, false, false, false, false, 2, true, act, withColBias: false);
            CheckGemm(kernel, rng, 13, 41, Sgemm.KC + 45, false, false, true, true, 2, true, act, withColBias: false);
        }
    }

    private static void CheckGemm(IGemmMicroKernel kernel, Random rng, int m, int n, int k, bool transA, bool transB,
        bool prepackB, bool accumulate, int threads, bool withEpilogue, FusedActivation? activation = null, bool withColBias = true)
    {
        var act = activation ?? (withEpilogue ? FusedActivation.Relu : FusedActivation.None);
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var c0 = Random(rng, m * n);
        var rowBias = Random(rng, m);
        var colBias = Random(rng, n);
        var c = (float[])c0.Clone();
        var packedA = new float[Sgemm.PackedAFloats(kernel, m, k)];
        var packedB = new float[Sgemm.ScratchFloats(kernel, n, k)];
        fixed (float* pa = a, pb = b, pc = c, ppa = packedA, ppb = packedB, prb = rowBias, pcb = colBias)
        {
            // transA: A is stored [K, M]; transB: B is stored [N, K].
            Sgemm.PackA(kernel, pa, transA ? 1 : k, transA ? m : 1, m, k, 1f, ppa);
            var epilogue = withEpilogue ? new GemmEpilogue(prb, withColBias ? pcb : null, act) : new GemmEpilogue(null, null, act);
            var bRow = transB ? 1 : n;
            var bCol = transB ? k : 1;
            var scratch = Sgemm.Align64(ppb);
            if (prepackB)
            {
                Sgemm.PackB(kernel, pb, bRow, bCol, k, n, scratch);
                Sgemm.Multiply(kernel, ppa, scratch, m, n, k, pc, n, accumulate, epilogue, threads);
            }
            else
            {
                Sgemm.Multiply(kernel, ppa, new MatrixPanelSource(pb, k, bRow, bCol), scratch, m, n, k, pc, n, accumulate, epilogue, threads);
            }
        }
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double sum = accumulate ? c0[i * n + j] : 0;
                for (var kk = 0; kk < k; kk++)
                {
                    var av = transA ? a[kk * m + i] : a[i * k + kk];
                    var bv = transB ? b[j * k + kk] : b[kk * n + j];
                    sum += (double)av * bv;
                }
                if (withEpilogue)
                {
                    sum += rowBias[i] + (withColBias ? (double)colBias[j] : 0);
                }
                var expected = act.Apply((float)sum);
                Assert.True(Math.Abs(c[i * n + j] - expected) <= Tolerance * (1 + Math.Sqrt(k)),
                    $"{kernel.Isa} m={m} n={n} k={k} tA={transA} tB={transB} pre={prepackB} acc={accumulate} t={threads} ({i},{j}): {c[i * n + j]} vs {expected}");
            }
        }
    }

    private static float[] Random(Random rng, int n)
    {
        var x = new float[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = (float)(rng.NextDouble() * 2 - 1);
        }
        return x;
    }
}
