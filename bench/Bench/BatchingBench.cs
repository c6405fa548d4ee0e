using DSConvService.Core.Execution;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;

namespace DSConvService.Bench;

/// <summary>
/// `batching`: one batch on all threads, run whole (each operator split over the threads) against image by image
/// (each thread taking whole images through a one-thread plan, the session's default where the graph allows it),
/// fp32 and DSConv 4/8/32, with ONNX Runtime fp32 in the same rounds. Options: --models a,b, --batches 8, --runs N, --threads T.
/// </summary>
public static class BatchingBench
{
    public static int Run(string[] args)
    {
        string[]? only = null;
        var at = Array.IndexOf(args, "--models");
        if (at >= 0)
        {
            only = args[at + 1].Split(',');
            args = args.Where((_, i) => i != at && i != at + 1).ToArray();
        }
        var o = BenchOptions.Parse(args);
        var batches = o.Batches.Where(b => b > 1).DefaultIfEmpty(8).ToArray();
        Console.WriteLine($"CPU: {SuiteModels.CpuModel()}");
        Console.WriteLine($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {o.Threads} threads, median of {o.Runs} interleaved runs, load average before {SuiteModels.LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| model | batch | engine | ORT fp32 (ms) | whole batch (ms) | image by image (ms) | **image by image / whole** |");
        Console.WriteLine("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
        var quantOptions = new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 8 };
        foreach (var entry in SuiteModels.Load(only))
        {
            using var ort = new OrtReference(OnnxWriter.ToBytes(entry.Model), o.Threads, false);
            var quantized = DSConvQuantizer.Quantize(entry.Model, quantOptions).Quantized;
            foreach (var (engine, model) in new[] { ("fp32", entry.Model), ("DSConv", quantized) })
            {
                var whole = new InferenceSession(model, new SessionOptions { Threads = o.Threads, ImageParallel = false });
                var images = new InferenceSession(model, new SessionOptions { Threads = o.Threads });
                foreach (var batch in batches)
                {
                    var x = entry.Input(batch);
                    var label = images.RunsImageByImage([x]) ? "" : " (runs whole)";
                    var t = SuiteBench.Interleaved(o, () => ort.Run(x), () => whole.Run(x), () => images.Run(x));
                    Console.WriteLine($"| {entry.Name} | {batch} | {engine}{label} | {t[0]:F3} | {t[1]:F3} | {t[2]:F3} | {t[2] / t[1]:F2} |");
                }
            }
        }
        return 0;
    }
}
