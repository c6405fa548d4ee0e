using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Kernels.Gemm;

namespace DSConvService.Bench;

/// <summary>
/// Single ResNet18 convolutions (block 32, 8-bit BFP) alone on the integer engine, 1 thread, CPU ms per run at
/// each weight width, one run of each width per round: what one layer costs at 8 or 7 bits against its 4-bit
/// version. A stage-1 conv and the first and last 1×1 stride-2 shortcuts.
/// </summary>
public static class MixedLayerCost
{
    private static readonly (string Name, ConvShape Shape)[] Layers =
    [
        ("stage-1 conv 64→64 3×3 56×56", new ConvShape(1, 64, 56, 56, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 56, 56)),
        ("shortcut 64→128 1×1/2 56×56", new ConvShape(1, 64, 56, 56, 128, 1, 1, 1, 2, 2, 0, 0, 1, 1, 28, 28)),
        ("shortcut 256→512 1×1/2 14×14", new ConvShape(1, 256, 14, 14, 512, 1, 1, 1, 2, 2, 0, 0, 1, 1, 7, 7)),
    ];

    private static readonly int[] Bits = [4, 7, 8];

    public static void Print(int runs)
    {
        Console.WriteLine();
        Console.WriteLine("Single convs alone, 1 thread, CPU ms per run (median; one run of each width per round):");
        Console.WriteLine();
        Console.WriteLine("| layer | MACs | 4-bit ms | 7-bit ms (vs 4) | 8-bit ms (vs 4) | 8-bit kernel |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | --- |");
        foreach (var (name, shape) in Layers)
        {
            var ms = Time(shape, 3 * Math.Max(3, runs), out var isa8);
            var kernel = DSConvIsaSupport.UsesWideWeights(isa8, 8, 8) ? $"{isa8}, int16 weights" : isa8.ToString();
            Console.WriteLine($"| {name} | {shape.Macs / 1e6:F1} M | {ms[0]:F3} | {ms[1]:F3} ({ms[1] / ms[0]:F2}x) | {ms[2]:F3} ({ms[2] / ms[0]:F2}x) | {kernel} |");
        }
    }

    private static double[] Time(ConvShape shape, int rounds, out DSConvIsa isa8)
    {
        var rng = new Random(5);
        var x = Enumerable.Range(0, shape.C * shape.InPixels).Select(_ => rng.Next(4) == 0 ? 0f : (float)rng.NextDouble() * 4f).ToArray();
        var engines = Bits.Select(b =>
        {
            var q = Enumerable.Range(0, shape.O * shape.C * shape.Taps).Select(_ => (sbyte)rng.Next(-(1 << (b - 1)), 1 << (b - 1))).ToArray();
            var kds = Enumerable.Repeat(0.01f, shape.O * (shape.C / 32) * shape.Taps).ToArray();
            var w = new DSConvWeights(shape.O, shape.C, shape.KH, shape.KW, new DSConvFormat(32, b, 8, 8, false), q, kds, new float[shape.O]);
            return new DSConvEngine(w, 1, new FusedActivation(ActivationKind.Relu));
        }).ToArray();
        isa8 = engines[^1].Isa;
        var y = new float[shape.O * shape.OutPixels];
        var scratch = new float[engines.Max(e => e.ScratchFloats(shape))];
        foreach (var e in engines)
        {
            for (var r = 0; r < 5; r++)
            {
                e.Run(x, shape, y, scratch, 1);
            }
        }
        var samples = Bits.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < engines.Length; i++)
            {
                var start = CpuClock.ProcessMs();
                engines[i].Run(x, shape, y, scratch, 1);
                samples[i].Add(CpuClock.ProcessMs() - start);
            }
        }
        return samples.Select(s => s.Order().ElementAt(s.Count / 2)).ToArray();
    }
}
