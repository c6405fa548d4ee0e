using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Bench;

/// <summary>
/// One ResNet18 stage-1 convolution (64→64, 3×3, pad 1, 56×56, block 32, 8-bit BFP) alone on the integer
/// engine, 1 thread, CPU ms per run at each weight width, rounds interleaved: what one layer costs at 8 or 7
/// bits against its 4-bit version (one run of each width per round).
/// </summary>
public static class MixedLayerCost
{
    public static void Print(int runs)
    {
        int[] bits = [4, 7, 8];
        var shape = new ConvShape(1, 64, 56, 56, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 56, 56);
        var rng = new Random(5);
        var x = Enumerable.Range(0, 64 * 56 * 56).Select(_ => rng.Next(4) == 0 ? 0f : (float)rng.NextDouble() * 4f).ToArray();
        var engines = bits.Select(b =>
        {
            var q = Enumerable.Range(0, 64 * 64 * 9).Select(_ => (sbyte)rng.Next(-(1 << (b - 1)), 1 << (b - 1))).ToArray();
            var kds = Enumerable.Range(0, 64 * 2 * 9).Select(_ => 0.01f).ToArray();
            var w = new DSConvWeights(64, 64, 3, 3, new DSConvFormat(32, b, 8, 8, false), q, kds, new float[64]);
            return new DSConvEngine(w, 1, new FusedActivation(ActivationKind.Relu));
        }).ToArray();
        var y = new float[64 * 56 * 56];
        var scratch = new float[engines.Max(e => e.ScratchFloats(shape))];
        var samples = bits.Select(_ => new List<double>()).ToArray();
        foreach (var e in engines)
        {
            for (var r = 0; r < 5; r++)
            {
                e.Run(x, shape, y, scratch, 1);
            }
        }
        for (var round = 0; round < 3 * Math.Max(3, runs); round++)
        {
            for (var i = 0; i < engines.Length; i++)
            {
                var start = CpuClock.ProcessMs();
                engines[i].Run(x, shape, y, scratch, 1);
                samples[i].Add(CpuClock.ProcessMs() - start);
            }
        }
        var medians = samples.Select(s => s.Order().ElementAt(s.Count / 2)).ToArray();
        Console.WriteLine();
        Console.WriteLine("One stage-1 conv (64→64, 3×3, 56×56, 115.6 M MACs) alone, 1 thread, CPU ms per run (median):");
        Console.WriteLine();
        Console.WriteLine("| weight bits | kernel | CPU ms | vs 4-bit |");
        Console.WriteLine("| ---: | --- | ---: | ---: |");
        for (var i = 0; i < bits.Length; i++)
        {
            var kernel = DSConvIsaSupport.UsesWideWeights(engines[i].Isa, bits[i], 8) ? $"{engines[i].Isa}, int16 weights" : engines[i].Isa.ToString();
            Console.WriteLine($"| {bits[i]} | {kernel} | {medians[i]:F3} | {medians[i] / medians[0]:F3}x |");
        }
    }
}
