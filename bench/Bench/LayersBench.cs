using System.Diagnostics;
using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Bench;

/// <summary>Per-node time of our executor on ResNet18 (where the milliseconds go), summed over runs.</summary>
public static class LayersBench
{
    public static int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        var batch = o.Batches[0];
        var session = new InferenceSession(ResNet18Model.WithSymbolicBatch(), new SessionOptions { Threads = o.Threads });
        var x = Tensor.FromFloats([batch, 3, 224, 224], new float[batch * 3 * 224 * 224]);
        var plan = session.Plan([x.Shape]);
        var times = new Dictionary<Node, double>();
        var cpu = new Dictionary<Node, double>();
        var process = Process.GetCurrentProcess();
        var sw = new Stopwatch();
        var cpuStart = process.TotalProcessorTime;
        for (var r = 0; r < o.Warmup + o.Runs; r++)
        {
            var timed = r >= o.Warmup;
            sw.Restart();
            cpuStart = process.TotalProcessorTime;
            plan.Run([x], (node, _) =>
            {
                if (timed)
                {
                    times[node] = times.GetValueOrDefault(node) + sw.Elapsed.TotalMilliseconds;
                    process.Refresh();
                    var now = process.TotalProcessorTime;
                    cpu[node] = cpu.GetValueOrDefault(node) + (now - cpuStart).TotalMilliseconds;
                }
                sw.Restart();
                cpuStart = process.TotalProcessorTime;
            });
        }
        Console.WriteLine($"batch {batch}, {o.Threads} threads, mean of {o.Runs} runs");
        Console.WriteLine("| Node | Output | wall ms | GFLOP/s | CPU ms | GFLOP/CPU-s |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var (node, total) in times)
        {
            var ms = total / o.Runs;
            var outShape = plan.ValueDescs[node.Outputs[0]].Shape;
            var cpuMs = cpu[node] / o.Runs;
            var flops = node.OpType == "Conv" ? ConvFlops(session.Model, node, plan, outShape) : 0;
            Console.WriteLine($"| {node.OpType} {node.DisplayName} | {ShapeUtil.Format(outShape)} | {ms:F3} | {(flops > 0 ? (flops / ms / 1e6).ToString("F0") : "")} | {cpuMs:F3} | {(flops > 0 ? (flops / cpuMs / 1e6).ToString("F0") : "")} |");
        }
        foreach (var g in times.GroupBy(t => t.Key.OpType))
        {
            Console.WriteLine($"{g.Key}: {g.Sum(t => t.Value) / o.Runs:F2} ms");
        }
        Console.WriteLine($"total: {times.Values.Sum() / o.Runs:F2} ms wall, {cpu.Values.Sum() / o.Runs:F2} ms CPU");
        return 0;
    }

    private static double ConvFlops(Model model, Node node, ExecutionPlan plan, int[] outShape)
    {
        var w = model.Graph.Initializers[node.Inputs[1]];
        return 2.0 * ShapeUtil.Size(outShape) * ShapeUtil.Size(w.Shape) / w.Shape[0];
    }
}
