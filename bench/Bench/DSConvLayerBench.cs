using DSConvService.Core.Kernels.Gemm;
using System.Diagnostics;
using DSConvService.Core.Kernels.DSConv;

namespace DSConvService.Bench;

/// <summary>
/// `dsconv layers`: the integer DSConv engine on the 22 conv shapes of the NuGet ResNet18 (random 4-bit
/// weights, block 32, 8-bit BFP activations), per kernel, 1 and 2 threads: median ms and GOP/s (2 ops per MAC).
/// </summary>
public static class DSConvLayerBench
{
    private sealed record Layer(string Name, int C, int H, int O, int K, int Stride, int Count);

    // CNTK ResNet18 at 224x224: stem, then stages of 3x3 convs (stride-2 first conv + 1x1 shortcut per stage).
    private static readonly Layer[] ResNet18 =
    [
        new("stem 7x7/2 3->64 @224", 3, 224, 64, 7, 2, 1),
        new("3x3 64->64 @56", 64, 56, 64, 3, 1, 4),
        new("3x3/2 64->128 @56", 64, 56, 128, 3, 2, 1),
        new("1x1/2 64->128 @56", 64, 56, 128, 1, 2, 1),
        new("3x3 128->128 @28", 128, 28, 128, 3, 1, 3),
        new("3x3/2 128->256 @28", 128, 28, 256, 3, 2, 1),
        new("1x1/2 128->256 @28", 128, 28, 256, 1, 2, 1),
        new("3x3 256->256 @14", 256, 14, 256, 3, 1, 3),
        new("3x3/2 256->512 @14", 256, 14, 512, 3, 2, 1),
        new("1x1/2 256->512 @14", 256, 14, 512, 1, 2, 1),
        new("3x3 512->512 @7", 512, 7, 512, 3, 1, 5),
    ];

    public static int Run(string[] args)
    {
        var runs = 20;
        var batch = 1;
        var weightBits = 4;
        var isas = DSConvIsaSupport.Available.Where(i => i != DSConvIsa.Scalar).ToList();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--runs": runs = int.Parse(args[++i]); break;
                case "--batch": batch = int.Parse(args[++i]); break;
                case "--bits": weightBits = int.Parse(args[++i]); break;
                case "--isa": isas = [Enum.Parse<DSConvIsa>(args[++i], true)]; break;
            }
        }
        Console.WriteLine($"DSConv integer engine on ResNet18 conv shapes: {weightBits}-bit weights, block 32, 8-bit BFP, batch {batch}, median of {runs} runs");
        foreach (var isa in isas)
        {
            foreach (var threads in new[] { 1, 2 })
            {
                Console.WriteLine();
                Console.WriteLine($"| {isa}, {threads} thread(s) | median ms | GOP/s | min ms | GOP/s at min |");
                Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
                double totalMs = 0, totalOps = 0, totalMin = 0;
                foreach (var layer in ResNet18)
                {
                    var (ms, min, ops) = Measure(layer, isa, threads, batch, weightBits, runs);
                    Console.WriteLine($"| {layer.Name}{(layer.Count > 1 ? $" (x{layer.Count})" : "")} | {ms:F3} | {ops / ms / 1e6:F0} | {min:F3} | {ops / min / 1e6:F0} |");
                    totalMs += ms * layer.Count;
                    totalMin += min * layer.Count;
                    totalOps += ops * layer.Count;
                }
                Console.WriteLine($"| **all 22 convs** | **{totalMs:F2}** | **{totalOps / totalMs / 1e6:F0}** | **{totalMin:F2}** | **{totalOps / totalMin / 1e6:F0}** |");
            }
        }
        return 0;
    }

    private static (double Ms, double Min, double Ops) Measure(Layer l, DSConvIsa isa, int threads, int batch, int weightBits, int runs)
    {
        var rng = new Random(1);
        var pad = l.K / 2;
        var oh = (l.H + 2 * pad - l.K) / l.Stride + 1;
        var shape = new ConvShape(batch, l.C, l.H, l.H, l.O, 1, l.K, l.K, l.Stride, l.Stride, pad, pad, 1, 1, oh, oh);
        var format = new DSConvFormat(32, weightBits, 8, 8, false);
        var q = new sbyte[l.O * l.C * l.K * l.K];
        var lo = -(1 << (weightBits - 1));
        for (var i = 0; i < q.Length; i++)
        {
            q[i] = (sbyte)rng.Next(lo, -lo);
        }
        var kds = new float[l.O * format.BlocksPerGroup(l.C) * l.K * l.K];
        for (var i = 0; i < kds.Length; i++)
        {
            kds[i] = (float)rng.NextDouble() * 0.01f;
        }
        var engine = new DSConvEngine(new DSConvWeights(l.O, l.C, l.K, l.K, format, q, kds, new float[l.O]), 1,
            new FusedActivation(ActivationKind.Relu, 0, 0, 0), isa);
        var x = new float[batch * l.C * l.H * l.H];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = rng.Next(3) == 0 ? 0f : (float)rng.NextDouble() * 4f;
        }
        var y = new float[batch * l.O * oh * oh];
        var scratch = new float[engine.ScratchFloats(shape)];
        for (var i = 0; i < 3; i++)
        {
            engine.Run(x, shape, y, scratch, threads);
        }
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            engine.Run(x, shape, y, scratch, threads);
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return (times[runs / 2], times[0], 2.0 * shape.Macs);
    }
}
