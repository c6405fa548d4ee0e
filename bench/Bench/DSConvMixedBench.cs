using DSConvService.Core.Execution;
using DSConvService.Core.Format;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Quantization;
using DSConvService.Core.Quantization.Artifact;
using DSConvService.Core.Tensors;

namespace DSConvService.Bench;

/// <summary>
/// `dsconv mixed`: ResNet18 with precision per layer against its all-4-bit/block-32 version, on 1 thread by
/// CPU time of the process (median of the runs, one run of each variant per round so load from other processes
/// hits every variant alike). Each variant's ratio to the all-4-bit time is the cost of its mix (issue 8: ≤ 1.1x).
/// </summary>
public static class DSConvMixedBench
{
    // Layer names of the NuGet ResNet18 in network order: stem, stage 1 (4 convs), then stages 2–4.
    private static readonly string[] Stage1 = ["Convolution257", "Convolution263", "Convolution271", "Convolution277"];
    private static readonly string[] Shortcuts = ["Convolution295", "Convolution327", "Convolution359"];
    private static readonly string[] Stage4 = ["Convolution355", "Convolution367", "Convolution373", "Convolution381", "Convolution387"];

    /// <param name="args">The shared options, and `--artifact FILE` (repeatable): a quantized ResNet18 whose
    /// per-layer settings (e.g. the target policy's choice) are one more variant.</param>
    public static int Run(string[] args)
    {
        var artifacts = new List<string>();
        for (var i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--artifact")
            {
                artifacts.Add(args[i + 1]);
            }
        }
        var o = BenchOptions.Parse(args.Where((a, i) => a != "--artifact" && (i == 0 || args[i - 1] != "--artifact")).ToArray());
        if (!File.Exists(ResNet18Model.Path))
        {
            Console.Error.WriteLine($"ResNet18 not found at {ResNet18Model.Path}.");
            return 2;
        }
        var fp32 = ResNet18Model.WithSymbolicBatch();
        var names = DSConvQuantizer.QuantizableLayers(fp32);
        string[] Early(int n) => names.Take(n).ToArray();
        var variants = new (string Name, Dictionary<string, DSConvSettings> Layers)[]
        {
            ("all 4-bit, block 32", []),
            ("stem + stage 1 at 8/32", Mix((Early(5), 8, 32))),
            ("stem + stage 1 at 8/16, stage 4 at 4/64", Mix((Early(5), 8, 16), (Stage4, 4, 64))),
            ("8 smallest-first: stem, shortcuts, stage 1 at 8/32", Mix(([names[0], .. Shortcuts, .. Stage1], 8, 32))),
            ("stem + stage 1 at 7/32", Mix((Early(5), 7, 32))),
            ("stage 1 at 4/16, stage 4 at 4/64", Mix((Stage1, 4, 16), (Stage4, 4, 64))),
        };
        variants = [.. variants, .. artifacts.Select(a => ($"settings of {Path.GetFileName(a)}", SettingsOf(a)))];
        var x = Tensor.FromFloats([1, 3, 224, 224], Enumerable.Range(0, 3 * 224 * 224).Select(i => (float)(i * 7919 % 255) - 120f).ToArray());
        var sessions = variants.Select(v =>
        {
            var q = DSConvQuantizer.Quantize(fp32, new QuantizationOptions { Layers = v.Layers, Scale = ScaleRule.Max, BiasCorrection = false });
            return new InferenceSession(q.Quantized, new SessionOptions { Threads = 1 });
        }).ToArray();
        var loadBefore = SuiteModels.LoadAverage();
        // Round-robin, one run of each variant per round: a burst of load from other processes hits every
        // variant alike (rounds of 10 runs per variant let one burst land on one variant on a loaded machine).
        foreach (var s in sessions)
        {
            for (var i = 0; i < o.Warmup; i++)
            {
                s.Run(x);
            }
        }
        var rounds = Math.Max(3, o.Runs);
        var samples = variants.Select(_ => new List<double>()).ToArray();
        for (var r = 0; r < rounds; r++)
        {
            for (var i = 0; i < sessions.Length; i++)
            {
                var start = CpuClock.ProcessMs();
                sessions[i].Run(x);
                samples[i].Add(CpuClock.ProcessMs() - start);
            }
        }
        var baseline = Median(samples[0]);
        Console.WriteLine($"CPU: {SuiteModels.CpuModel()}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average before {loadBefore}, after {SuiteModels.LoadAverage()}");
        Console.WriteLine($"Kernels (8-bit mantissas): 4-bit {Kernel(4)}, 7-bit {Kernel(7)}, 8-bit {Kernel(8)}");
        Console.WriteLine($"ResNet18 batch 1, 1 thread, CPU ms per run (median of {rounds} rounds, one run of each variant per round)");
        Console.WriteLine();
        Console.WriteLine("| variant | CPU ms | vs all 4-bit |");
        Console.WriteLine("| --- | ---: | ---: |");
        for (var i = 0; i < variants.Length; i++)
        {
            var ms = Median(samples[i]);
            Console.WriteLine($"| {variants[i].Name} | {ms:F2} | {ms / baseline:F3}x |");
        }
        MixedLayerCost.Print(o.Runs);
        return 0;
    }

    private static string Kernel(int bits)
    {
        var isa = DSConvIsaSupport.Best(bits, 8);
        return DSConvIsaSupport.UsesWideWeights(isa, bits, 8) ? $"{isa} (int16 weights, Avx2WideKernel)"
            : DSConvIsaSupport.NeedsNibbleSplit(isa, bits, 8) ? $"{isa} (nibble split)"
            : isa.ToString();
    }

    // Each DSConv layer's settings as the artifact stores them, by layer name.
    private static Dictionary<string, DSConvSettings> SettingsOf(string artifact)
    {
        var (model, _) = DSConvArtifact.Load(File.ReadAllBytes(artifact));
        return model.Graph.Nodes.Where(DSConvNodes.IsDSConv)
            .ToDictionary(n => n.DisplayName, DSConvSettings.FromNode, StringComparer.Ordinal);
    }

    private static Dictionary<string, DSConvSettings> Mix(params (string[] Layers, int Bits, int Block)[] groups)
    {
        var map = new Dictionary<string, DSConvSettings>(StringComparer.Ordinal);
        foreach (var (layers, bits, block) in groups)
        {
            foreach (var l in layers)
            {
                map[l] = DSConvSettings.Default with { WeightBits = bits, BlockSize = block };
            }
        }
        return map;
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s[s.Length / 2];
    }
}
