using DSConvService.Core.Execution;
using DSConvService.Core.Execution.Ops.DSConv;
using DSConvService.Core.Hardware;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tests.Quantization;
using DSConvService.TestSupport;
using Xunit;

namespace DSConvService.Core.Tests.Kernels.DSConv;

/// <summary>
/// A quantized network built under forced capabilities runs every packer, store and kernel of the DSConv
/// engine at that level (a census counts what each one ran) and still meets the exactness contract
/// (DESIGN 2.3) against the simulated network run with the hardware's own code.
/// </summary>
public class ForcedCapabilitiesTests
{
    /// <summary>Block 32: integer pixel-vector layers, a depthwise float layer, two fully connected layers.</summary>
    private static readonly string[] IntegerKernels =
        ["BfpPacker", "MicroKernel", "Store", "EpilogueKernel", "DenseRowPacker", "DenseKernel", "BfpSimulator"];

    /// <summary>Block 4: every layer has tiny blocks and runs on the float path.</summary>
    private static readonly string[] FloatKernels = ["BfpSimulator", "FloatGemm"];

    private static readonly string[] HasAvx2Form = ["BfpPacker", "MicroKernel", "EpilogueKernel", "BfpSimulator", "DenseKernel", "FloatGemm"];

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var level in new[] { "scalar", "avx2" })
        {
            if (level == "avx2" && !CpuCapabilities.Hardware.Avx2Fma)
            {
                continue;
            }
            data.Add(level, 32);
            data.Add(level, 4);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forced_Run_Takes_The_Forced_Code_Everywhere_And_Stays_Exact(string level, int block)
    {
        var options = new QuantizationOptions { WeightBits = 4, BlockSize = block, ActivationBits = 8 };
        var result = DSConvQuantizer.Quantize(QuantizerTestModels.Mixed(), options);
        var x = RandomTensors.Normal(31, [2, 6, 10, 10]);
        using var sim = NetworkRunner.Create(DSConvSimulation.ToFloatGraph(result.Quantized, true));
        var simulated = sim.RunOutput(x);

        var census = new KernelCensus();
        InferenceSession session;
        using (CpuCapabilities.Force(CpuCapabilities.Hardware.Capped(level) with { Census = census }))
        {
            session = new InferenceSession(result.Quantized, new SessionOptions { Optimize = false, Threads = 2 });
        }
        var forced = session.Run(x)[0];

        var diff = RandomTensors.RelativeDiff(forced, simulated);
        Assert.True(diff <= 1e-5, $"{level}: relative difference {diff}");

        // Each kernel records the code it chose; nothing may run above the forced level. On AVX2 the BFP
        // simulator's tails of fewer than 8 pixels are scalar by design, so scalar is allowed there.
        var allowed = level == "scalar" ? new[] { "scalar" } : ["avx2", "scalar"];
        foreach (var (kernel, levels) in census.Levels.Where(k => k.Key != "DepthwiseConv"))
        {
            Assert.True(levels.All(allowed.Contains), $"{kernel} ran at {string.Join(", ", levels)} under {level}: {census}");
        }
        foreach (var kernel in block == 32 ? IntegerKernels : FloatKernels)
        {
            // The dense-row packer and the tile store have an AVX-512 and a scalar form only.
            var expected = level == "scalar" || HasAvx2Form.Contains(kernel) ? level : "scalar";
            Assert.True(census.Levels.TryGetValue(kernel, out var levels) && levels.Contains(expected),
                $"{kernel} did not run at {expected}: {census}");
        }

        var paths = session.Operators.Select(op => op switch
        {
            DSConvConv c => c.Engine,
            DSConvGemm g => g.Engine,
            _ => null,
        }).OfType<DSConvEngine>().ToList();
        Assert.Equal(result.QuantizedLayers, paths.Count);
        Assert.All(paths, e => Assert.Equal(level, e.Capabilities.Level));
        Assert.All(paths, e => Assert.Equal(level, e.LayerPath.Isa));
        var expectedKernel = level == "scalar" ? DSConvIsa.Scalar : DSConvIsa.Avx2;
        Assert.All(paths.Where(e => !e.UsesFloatPath), e => Assert.Equal(expectedKernel, e.Isa));
        Assert.Equal(block == 4, paths.All(e => e.UsesFloatPath));
    }

    [Fact]
    public void Forcing_Is_Scoped_To_The_Flow_And_Limited_To_The_Hardware()
    {
        var before = CpuCapabilities.Current;
        using (CpuCapabilities.Force(CpuCapabilities.Scalar))
        {
            Assert.Equal("scalar", CpuCapabilities.Current.Level);
            Assert.Equal(DSConvIsa.Scalar, DSConvIsaSupport.Best(4, 8));
            Assert.Equal(GemmIsa.Scalar, GemmKernels.Default.Isa);
        }
        Assert.Equal(before, CpuCapabilities.Current);
        var everything = new CpuCapabilities(true, true, true, true, true, true, true);
        using (CpuCapabilities.Force(everything))
        {
            Assert.Equal(CpuCapabilities.Hardware, CpuCapabilities.Current);
        }
    }

    [Theory]
    [InlineData("scalar", "scalar")]
    [InlineData("SCALAR", "scalar")]
    [InlineData("avx2", "avx2")]
    [InlineData("avxvnni", "avxvnni")]
    [InlineData("Avx512Int16", "avx512")]
    [InlineData(null, "avx512")]
    public void Levels_Cap_A_Full_Machine(string? level, string expected)
    {
        var full = new CpuCapabilities(true, true, true, true, true, true, true);
        Assert.Equal(expected, full.Capped(level).Level);
    }

    [Fact]
    public void An_Unknown_Level_Names_The_Variable_And_The_Choices()
    {
        var e = Assert.Throws<ArgumentException>(() => CpuCapabilities.Hardware.Capped("sse9"));
        Assert.Equal("DSCONV_ISA=sse9 is not a level: use scalar, avx2, avxvnni, avx512int16 or avx512.", e.Message);
    }
}
