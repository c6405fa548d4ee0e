using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;

namespace DSConvService.Bench;

/// <summary>
/// `dsconv sweep`: latency of the quantized ResNet18 for weight bits {2,3,4,5,6,8} × block {8,16,32,64,128}
/// (8-bit BFP activations, data-free), batch 1. ORT fp32 is timed once before and once after the sweep; each
/// cell is the median of the runs and its ratio to ORT fp32 (the median of the two ORT passes).
/// Cosine and size of the same grid are in bench/ACCURACY.md (they do not depend on the machine).
/// </summary>
public static class DSConvSweepBench
{
    private static readonly int[] Bits = [2, 3, 4, 5, 6, 8];
    private static readonly int[] Blocks = [8, 16, 32, 64, 128];

    public static int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        if (!File.Exists(ResNet18Model.Path))
        {
            Console.Error.WriteLine($"ResNet18 not found at {ResNet18Model.Path} (restore the Microsoft.ML.DnnImageFeaturizer.ResNet18 package).");
            return 2;
        }
        var model = ResNet18Model.WithSymbolicBatch();
        var x = Tensor.FromFloats([1, 3, 224, 224], Enumerable.Range(0, 3 * 224 * 224).Select(i => (float)(i * 7919 % 255) - 120f).ToArray());
        using var ort = new OrtReference(ResNet18Model.Bytes(model), o.Threads);
        var ortBefore = Timing.MedianMs(() => ort.Run(x), o.Warmup, o.Runs);
        var ms = new double[Bits.Length, Blocks.Length];
        var kernels = new string[Bits.Length];
        for (var i = 0; i < Bits.Length; i++)
        {
            kernels[i] = DSConvIsaSupport.Best(Bits[i], 8).ToString();
            for (var j = 0; j < Blocks.Length; j++)
            {
                var result = DSConvQuantizer.Quantize(model, new QuantizationOptions { WeightBits = Bits[i], BlockSize = Blocks[j], ActivationBits = 8 });
                var session = new InferenceSession(result.Quantized, new SessionOptions { Threads = o.Threads });
                ms[i, j] = Timing.MedianMs(() => session.Run([x]), o.Warmup, o.Runs);
            }
        }
        var ortAfter = Timing.MedianMs(() => ort.Run(x), o.Warmup, o.Runs);
        var ortMs = (ortBefore + ortAfter) / 2;
        Console.WriteLine($"ResNet18 224x224, batch 1, {o.Threads} threads, 8-bit BFP activations, data-free; median of {o.Runs} runs after {o.Warmup} warm-up; "
            + $"ORT fp32 {ortBefore:F2} ms before and {ortAfter:F2} ms after the sweep; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine();
        Console.WriteLine("DSConv latency in ms (speed-up against ORT fp32):");
        Console.WriteLine();
        Console.WriteLine("| bits \\ block | " + string.Join(" | ", Blocks) + " | kernel |");
        Console.WriteLine("|---|" + string.Concat(Blocks.Select(_ => "---:|")) + "---|");
        for (var i = 0; i < Bits.Length; i++)
        {
            var cells = Enumerable.Range(0, Blocks.Length).Select(j => $"{ms[i, j]:F2} ({ortMs / ms[i, j]:F2}x)");
            Console.WriteLine($"| {Bits[i]} | {string.Join(" | ", cells)} | {kernels[i]} |");
        }
        return 0;
    }
}
