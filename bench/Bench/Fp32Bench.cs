using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Kernels.Gemm;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;

namespace DSConvService.Bench;

/// <summary>ResNet18 fp32, 224×224: our executor vs ONNX Runtime, median latency per batch size, as a markdown table.</summary>
public static class Fp32Bench
{
    public static int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        if (!File.Exists(ResNet18Model.Path))
        {
            Console.Error.WriteLine($"ResNet18 not found at {ResNet18Model.Path} (restore the Microsoft.ML.DnnImageFeaturizer.ResNet18 package).");
            return 2;
        }
        var model = ResNet18Model.WithSymbolicBatch();
        var bytes = ResNet18Model.Bytes(model);
        var ours = new InferenceSession(model, new SessionOptions { Threads = o.Threads });
        using var ort = new OrtReference(bytes, o.Threads);
        Console.WriteLine($"ResNet18 fp32, 224x224, {o.Threads} threads, GEMM kernel {GemmKernels.Default.Isa}, warm-up {o.Warmup}, median of {o.Runs} runs, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"load average before: {LoadAverage()} (other processes on the machine distort both columns)");
        Console.WriteLine();
        Console.WriteLine("| Batch | Ours (ms) | ONNX Runtime (ms) | Ours / ORT | max rel. diff |");
        Console.WriteLine("| --- | --- | --- | --- | --- |");
        foreach (var batch in o.Batches)
        {
            var x = Input(batch);
            var diff = RelativeDiff(ours.Run(x)[0], ort.Run(x)[0]);
            var oursMs = Timing.MedianMs(() => ours.Run(x), o.Warmup, o.Runs);
            var ortMs = Timing.MedianMs(() => ort.Run(x), o.Warmup, o.Runs);
            Console.WriteLine($"| {batch} | {oursMs:F2} | {ortMs:F2} | {oursMs / ortMs:F2} | {diff:E1} |");
        }
        if (o.CpuTable)
        {
            CpuTimeTable(model, bytes, o);
        }
        return 0;
    }

    /// <summary>
    /// Both engines on 1 thread, process CPU time per run: robust against other processes taking the
    /// cores (wall time is not), so it compares kernel efficiency even on a busy machine.
    /// </summary>
    private static void CpuTimeTable(Core.Graph.Model model, byte[] bytes, BenchOptions o)
    {
        var ours = new InferenceSession(model, new SessionOptions { Threads = 1 });
        using var ort = new OrtReference(bytes, 1);
        Console.WriteLine();
        Console.WriteLine($"1 thread, CPU time per run (median of {o.Runs}):");
        Console.WriteLine();
        Console.WriteLine("| Batch | Ours (CPU ms) | ONNX Runtime (CPU ms) | Ours / ORT |");
        Console.WriteLine("| --- | --- | --- | --- |");
        foreach (var batch in o.Batches)
        {
            var x = Input(batch);
            var oursMs = Timing.MedianCpuMs(() => ours.Run(x), o.Warmup, o.Runs);
            var ortMs = Timing.MedianCpuMs(() => ort.Run(x), o.Warmup, o.Runs);
            Console.WriteLine($"| {batch} | {oursMs:F2} | {ortMs:F2} | {oursMs / ortMs:F2} |");
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>A deterministic input in the model's range (BGR 0..255 minus the mean image, about ±128).</summary>
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

    private static double RelativeDiff(Tensor ours, Tensor reference)
    {
        var a = ours.Floats;
        var b = reference.Floats;
        double maxDiff = 0, maxRef = 0;
        for (var i = 0; i < a.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(a[i] - b[i]));
            maxRef = Math.Max(maxRef, Math.Abs(b[i]));
        }
        return maxDiff / Math.Max(maxRef, 1e-30);
    }
}
