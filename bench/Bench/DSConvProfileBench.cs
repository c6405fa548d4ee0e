using System.Diagnostics;
using DSConvService.Core.Execution;
using DSConvService.Core.Execution.Ops.DSConv;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;

namespace DSConvService.Bench;

/// <summary>`dsconv profile`: time per node of the quantized ResNet18 on our engine (sum over runs, by op type, min per node).</summary>
public static class DSConvProfileBench
{
    public static int Run(string[] args)
    {
        var o = BenchOptions.Parse(args);
        var model = ResNet18Model.WithSymbolicBatch();
        var result = DSConvQuantizer.Quantize(model, new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 8 });
        var session = new InferenceSession(result.Quantized, new SessionOptions { Threads = o.Threads });
        var batch = o.Batches[0];
        var x = Tensor.FromFloats([batch, 3, 224, 224], new float[batch * 3 * 224 * 224].Select((_, i) => (float)(i % 251) - 120f).ToArray());
        var perNode = new Dictionary<string, (string Op, double Min)>();
        for (var r = 0; r < o.Runs; r++)
        {
            var last = Stopwatch.GetTimestamp();
            session.Run([x], (node, _) =>
            {
                var now = Stopwatch.GetTimestamp();
                var ms = (now - last) * 1000.0 / Stopwatch.Frequency;
                last = now;
                var key = node.DisplayName;
                perNode[key] = perNode.TryGetValue(key, out var v) ? (v.Op, Math.Min(v.Min, ms)) : (node.OpType, ms);
            });
        }
        Console.WriteLine($"batch {batch}, {o.Threads} threads, min over {o.Runs} runs per node");
        foreach (var g in perNode.Values.GroupBy(v => v.Op).OrderByDescending(g => g.Sum(v => v.Min)))
        {
            Console.WriteLine($"{g.Key,-24} {g.Count(),3} nodes {g.Sum(v => v.Min),8:F3} ms");
        }
        var descs = session.Plan([x.Shape]).ValueDescs;
        var paths = session.Operators.ToDictionary(op => op.Node.DisplayName, op => op switch
        {
            DSConvConv c => c.Path(descs[op.Node.Inputs[0]]).ToString(),
            DSConvGemm g => g.Path(descs[op.Node.Inputs[0]]).ToString(),
            _ => "",
        });
        foreach (var (name, v) in perNode)
        {
            Console.WriteLine($"  {name,-40} {v.Op,-14} {v.Min:F3} ms  {paths.GetValueOrDefault(name)}");
        }
        return 0;
    }
}
