using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;

namespace DSConvService.Bench;

/// <summary>
/// `dsconv`: ResNet18 quantized by DSConvQuantizer (default 4-bit weights, block 32, 8-bit BFP, data-free)
/// run on our integer engine, against ONNX Runtime fp32 on the original model and ONNX Runtime int8 (QDQ,
/// /work/shared/data/models/resnet18_int8_qdq.onnx), median latency per batch, measured in one run.
/// Extra options: --bits B (weight bits), --int8 PATH, --cpu (also a 1-thread CPU-time table of the three engines,
/// the comparison that holds on a loaded machine).
/// </summary>
public static class DSConvModelBench
{
    public static int Run(string[] args)
    {
        var bits = 4;
        var int8Path = "/work/shared/data/models/resnet18_int8_qdq.onnx";
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--bits": bits = int.Parse(args[++i]); break;
                case "--int8": int8Path = args[++i]; break;
                default: rest.Add(args[i]); break;
            }
        }
        var o = BenchOptions.Parse(rest.ToArray());
        if (!File.Exists(ResNet18Model.Path))
        {
            Console.Error.WriteLine($"ResNet18 not found at {ResNet18Model.Path} (restore the Microsoft.ML.DnnImageFeaturizer.ResNet18 package).");
            return 2;
        }
        var model = ResNet18Model.WithSymbolicBatch();
        var options = new QuantizationOptions { WeightBits = bits, BlockSize = 32, ActivationBits = 8 };
        var result = DSConvQuantizer.Quantize(model, options);
        var ours = new InferenceSession(result.Quantized, new SessionOptions { Threads = o.Threads });
        using var ortFp32 = new OrtReference(ResNet18Model.Bytes(model), o.Threads);
        using var ortInt8 = File.Exists(int8Path) ? new OrtReference(int8Path, o.Threads) : null;
        var int8Batch = ortInt8?.InputShape(0)[0] ?? 0;
        Console.WriteLine($"ResNet18 224x224, DSConv {bits}-bit weights / block 32 / 8-bit BFP ({result.QuantizedLayers} layers, data-free), "
            + $"kernel {DSConvIsaSupport.Best(bits, 8)}, {o.Threads} threads, warm-up {o.Warmup}, median of {o.Runs} runs, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine();
        Console.WriteLine("| Batch | DSConv int (ms) | ORT fp32 (ms) | ORT int8 QDQ (ms) | speed-up vs ORT fp32 | DSConv / ORT int8 | min ms DSConv / fp32 / int8 | cosine vs fp32 |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var batch in o.Batches)
        {
            var x = Input(batch);
            var cosine = Cosine(ours.Run(x)[0].Floats, ortFp32.Run(x)[0].Floats);
            var (oursMs, oursMin) = MedianAndMin(() => ours.Run(x), o.Warmup, o.Runs);
            var (fp32Ms, fp32Min) = MedianAndMin(() => ortFp32.Run(x), o.Warmup, o.Runs);
            // The QDQ file fixes batch 1 when int8Batch is 1: batch b is timed as b runs of batch 1.
            double int8Ms = double.NaN, int8Min = double.NaN;
            if (ortInt8 is not null)
            {
                var x1 = int8Batch <= 0 || int8Batch == batch ? x : Input(1);
                var repeat = int8Batch <= 0 || int8Batch == batch ? 1 : batch;
                (int8Ms, int8Min) = MedianAndMin(() =>
                {
                    for (var r = 0; r < repeat; r++)
                    {
                        ortInt8.Run(x1);
                    }
                }, o.Warmup, o.Runs);
            }
            Console.WriteLine($"| {batch} | {oursMs:F2} | {fp32Ms:F2} | {int8Ms:F2} | {fp32Ms / oursMs:F2}x | {oursMs / int8Ms:F2} | {oursMin:F2} / {fp32Min:F2} / {int8Min:F2} | {cosine:F4} |");
        }
        if (o.CpuTable)
        {
            CpuTable(result.Quantized, model, int8Path, int8Batch, o);
        }
        return 0;
    }

    /// <summary>1 thread, CPU time of this process per run (median): robust against other processes on the machine.</summary>
    private static void CpuTable(Core.Graph.Model quantized, Core.Graph.Model fp32, string int8Path, int int8Batch, BenchOptions o)
    {
        var ours = new InferenceSession(quantized, new SessionOptions { Threads = 1 });
        using var ortFp32 = new OrtReference(ResNet18Model.Bytes(fp32), 1);
        using var ortInt8 = File.Exists(int8Path) ? new OrtReference(int8Path, 1) : null;
        Console.WriteLine();
        Console.WriteLine($"1 thread, CPU time per run (median of {o.Runs}):");
        Console.WriteLine();
        Console.WriteLine("| Batch | DSConv int (CPU ms) | ORT fp32 (CPU ms) | ORT int8 QDQ (CPU ms) | speed-up vs ORT fp32 | DSConv / ORT int8 |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var batch in o.Batches)
        {
            var x = Input(batch);
            var oursMs = Timing.MedianCpuMs(() => ours.Run(x), o.Warmup, o.Runs);
            var fp32Ms = Timing.MedianCpuMs(() => ortFp32.Run(x), o.Warmup, o.Runs);
            var int8Ms = double.NaN;
            if (ortInt8 is not null)
            {
                var x1 = int8Batch <= 0 || int8Batch == batch ? x : Input(1);
                var repeat = int8Batch <= 0 || int8Batch == batch ? 1 : batch;
                int8Ms = Timing.MedianCpuMs(() =>
                {
                    for (var r = 0; r < repeat; r++)
                    {
                        ortInt8.Run(x1);
                    }
                }, o.Warmup, o.Runs);
            }
            Console.WriteLine($"| {batch} | {oursMs:F2} | {fp32Ms:F2} | {int8Ms:F2} | {fp32Ms / oursMs:F2}x | {oursMs / int8Ms:F2} |");
        }
    }

    private static (double Median, double Min) MedianAndMin(Action action, int warmup, int runs)
    {
        for (var i = 0; i < warmup; i++)
        {
            action();
        }
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return (runs % 2 == 1 ? times[runs / 2] : (times[runs / 2 - 1] + times[runs / 2]) / 2, times[0]);
    }

    private static Tensor Input(int batch)
    {
        var rng = new Random(batch);
        var data = new float[batch * 3 * 224 * 224];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(rng.NextDouble() * 255 - 120);
        }
        return Tensor.FromFloats([batch, 3, 224, 224], data);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            ab += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }
        return ab / Math.Sqrt(aa * bb + 1e-30);
    }
}
