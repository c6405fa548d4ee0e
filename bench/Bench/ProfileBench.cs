using System.Diagnostics;
using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Quantization;

namespace DSConvService.Bench;

/// <summary>
/// `profile`: time per node of one suite model on our engine (fp32 executor, DSConv 4/8/32, or both), the minimum
/// over the runs per node, grouped by kind (convolutions split into depthwise, pointwise, grouped and dense k×k),
/// against the median of whole runs: the gap is what happens between nodes. Process CPU time per node is
/// printed too (with --threads 1 it is the node's own cost, whatever else the machine runs).
/// Options: --model NAME, --engine fp32|dsconv|both, --batch B, --runs N, --threads T, --top K (slowest nodes listed).
/// </summary>
public static class ProfileBench
{
    public static int Run(string[] args)
    {
        string? name = null;
        var engine = "both";
        var top = 12;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--model": name = args[++i]; break;
                case "--engine": engine = args[++i]; break;
                case "--top": top = int.Parse(args[++i]); break;
                case "--batch": rest.Add("--batches"); rest.Add(args[++i]); break;
                default: rest.Add(args[i]); break;
            }
        }
        var o = BenchOptions.Parse(rest.ToArray());
        var entry = SuiteModels.Load(name is null ? null : [name]).FirstOrDefault();
        if (entry is null)
        {
            Console.Error.WriteLine($"No suite model named '{name}'.");
            return 2;
        }
        var batch = o.Batches[0];
        Console.WriteLine($"CPU: {SuiteModels.CpuModel()}; {entry.Name}, batch {batch}, {o.Threads} threads, {o.Runs} runs, load average {SuiteModels.LoadAverage()}");
        if (engine is "fp32" or "both")
        {
            Profile("fp32", entry.Model, entry, batch, o, top);
        }
        if (engine is "dsconv" or "both")
        {
            var quantized = DSConvQuantizer.Quantize(entry.Model, new QuantizationOptions { WeightBits = 4, BlockSize = 32, ActivationBits = 8 }).Quantized;
            Profile("DSConv 4/8/32", quantized, entry, batch, o, top);
        }
        return 0;
    }

    private static void Profile(string label, Model model, SuiteModels.Entry entry, int batch, BenchOptions o, int top)
    {
        var session = new InferenceSession(model, new SessionOptions { Threads = o.Threads });
        var kinds = session.Model.Graph.Nodes.ToDictionary(n => n, n => Kind(session.Model.Graph, n));
        var x = entry.Input(batch);
        var perNode = new Dictionary<Node, double>();
        var cpuNode = new Dictionary<Node, double>();
        var whole = new double[o.Runs];
        for (var r = 0; r < o.Warmup; r++)
        {
            session.Run(x);
        }
        for (var r = 0; r < o.Runs; r++)
        {
            var start = Stopwatch.GetTimestamp();
            session.Run(x);
            whole[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        for (var r = 0; r < o.Runs; r++)
        {
            var last = Stopwatch.GetTimestamp();
            var lastCpu = CpuClock.ProcessMs();
            session.Run([x], (node, _) =>
            {
                var now = Stopwatch.GetTimestamp();
                var cpu = CpuClock.ProcessMs();
                var ms = (now - last) * 1000.0 / Stopwatch.Frequency;
                perNode[node] = perNode.TryGetValue(node, out var v) ? Math.Min(v, ms) : ms;
                cpuNode[node] = cpuNode.TryGetValue(node, out var c) ? Math.Min(c, cpu - lastCpu) : cpu - lastCpu;
                last = now;
                lastCpu = cpu;
            });
        }
        Array.Sort(whole);
        Console.WriteLine();
        Console.WriteLine($"{label}: median whole run {whole[whole.Length / 2]:F3} ms, sum of per-node minima {perNode.Values.Sum():F3} ms, {perNode.Count} nodes run");
        Console.WriteLine();
        Console.WriteLine("| kind | nodes | sum of wall minima (ms) | sum of process-CPU minima (ms) |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var g in perNode.GroupBy(p => kinds[p.Key]).OrderByDescending(g => g.Sum(p => p.Value)))
        {
            Console.WriteLine($"| {g.Key} | {g.Count()} | {g.Sum(p => p.Value):F3} | {g.Sum(p => cpuNode[p.Key]):F3} |");
        }
        Console.WriteLine();
        Console.WriteLine($"slowest {top} nodes:");
        foreach (var (node, ms) in perNode.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine($"  {node.DisplayName,-48} {kinds[node],-22} {ms:F3} ms (CPU {cpuNode[node]:F3} ms)");
        }
    }

    /// <summary>The op type, with convolutions classed by their weight shape and group.</summary>
    private static string Kind(Graph graph, Node n)
    {
        if (n.OpType is not ("Conv" or "DSConvConv"))
        {
            return n.OpType;
        }
        var prefix = n.OpType;
        if (n.Input(1) is not { } wName || !graph.Initializers.TryGetValue(wName, out var w) || w.Rank != 4)
        {
            return prefix;
        }
        var group = n.GetInt("group", 1);
        return w.Shape[1] == 1 && group > 1 ? $"{prefix} depthwise"
            : group > 1 ? $"{prefix} grouped"
            : w.Shape[2] == 1 && w.Shape[3] == 1 ? $"{prefix} pointwise"
            : $"{prefix} {w.Shape[2]}x{w.Shape[3]}";
    }
}
