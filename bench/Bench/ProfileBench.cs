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
/// `--engine ort` (or `all`) adds ONNX Runtime's own per-node profile. Options: --model NAME, --engine fp32|dsconv|both|ort|all, --batch B, --runs N, --threads T, --top K (slowest nodes listed).
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
        if (engine is "ort" or "all")
        {
            ProfileOrt(entry, batch, o, top);
        }
        if (engine is "fp32" or "both" or "all")
        {
            Profile("fp32", entry.Model, entry, batch, o, top);
        }
        if (engine is "dsconv" or "both" or "all")
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
        var collections = GC.CollectionCount(0);
        var allocated = GC.GetTotalAllocatedBytes(true);
        for (var r = 0; r < o.Runs; r++)
        {
            var start = Stopwatch.GetTimestamp();
            session.Run(x);
            whole[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Console.WriteLine($"{label}: {(GC.GetTotalAllocatedBytes(true) - allocated) / o.Runs / 1024.0:F1} KiB allocated and {(GC.CollectionCount(0) - collections) / (double)o.Runs:F2} gen-0 collections per run");
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
        Console.WriteLine($"{label}: values of one run {session.Plan([x.Shape]).ValueElements * 4 / 1e6:F1} MB");
        Console.WriteLine($"{label}: median whole run {whole[whole.Length / 2]:F3} ms (fastest {whole[0]:F3}, 90th percentile {whole[whole.Length * 9 / 10]:F3}), sum of per-node minima {perNode.Values.Sum():F3} ms, {perNode.Count} nodes run");
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

    /// <summary>
    /// ONNX Runtime's own per-node profile (its kernel time per node, the minimum over the runs), grouped by the
    /// same kinds where its node keeps the model's node name, else by its op type: where ORT is faster than us.
    /// </summary>
    private static void ProfileOrt(SuiteModels.Entry entry, int batch, BenchOptions o, int top)
    {
        var kinds = entry.Model.Graph.Nodes.Where(n => n.Name.Length > 0).GroupBy(n => n.Name).ToDictionary(g => g.Key, g => Kind(entry.Model.Graph, g.First()));
        var prefix = Path.Combine(Path.GetTempPath(), $"ort-profile-{Environment.ProcessId}");
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = o.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = Microsoft.ML.OnnxRuntime.ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
            EnableProfiling = true,
            ProfileOutputPathPrefix = prefix,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(DSConvService.Core.Onnx.OnnxWriter.ToBytes(entry.Model), options);
        var x = entry.Input(batch);
        var input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(x.Floats, x.Shape.Select(d => (long)d).ToArray());
        var inputName = session.InputMetadata.Keys.First();
        var whole = new double[o.Runs];
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        for (var r = 0; r < o.Warmup + o.Runs; r++)
        {
            var start = Stopwatch.GetTimestamp();
            using var results = session.Run(runOptions, [inputName], [input], session.OutputMetadata.Keys.ToArray());
            if (r >= o.Warmup)
            {
                whole[r - o.Warmup] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }
        var file = session.EndProfiling();
        var perNode = new Dictionary<string, (double Ms, string Kind)>();
        using (var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)))
        {
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.GetProperty("cat").GetString() != "Node" || e.GetProperty("name").GetString() is not { } n || !n.EndsWith("_kernel_time", StringComparison.Ordinal))
                {
                    continue;
                }
                var node = n[..^"_kernel_time".Length];
                var op = e.TryGetProperty("args", out var a) && a.TryGetProperty("op_name", out var opName) ? opName.GetString() ?? "?" : "?";
                var ms = e.GetProperty("dur").GetDouble() / 1000.0;
                var kind = kinds.TryGetValue(node, out var k) ? k : OrtKind(op, a);
                perNode[node] = perNode.TryGetValue(node, out var v) ? (Math.Min(v.Ms, ms), kind) : (ms, kind);
            }
        }
        File.Delete(file);
        Array.Sort(whole);
        Console.WriteLine();
        Console.WriteLine($"ONNX Runtime fp32: median whole run {whole[whole.Length / 2]:F3} ms (profiling on), sum of per-node minima {perNode.Values.Sum(v => v.Ms):F3} ms, {perNode.Count} nodes");
        Console.WriteLine();
        Console.WriteLine("| kind | nodes | sum of kernel-time minima (ms) |");
        Console.WriteLine("| --- | ---: | ---: |");
        foreach (var g in perNode.GroupBy(p => p.Value.Kind).OrderByDescending(g => g.Sum(p => p.Value.Ms)))
        {
            Console.WriteLine($"| {g.Key} | {g.Count()} | {g.Sum(p => p.Value.Ms):F3} |");
        }
        Console.WriteLine();
        Console.WriteLine($"slowest {top} nodes:");
        foreach (var (node, v) in perNode.OrderByDescending(p => p.Value.Ms).Take(top))
        {
            Console.WriteLine($"  {node,-48} {v.Kind,-22} {v.Ms:F3} ms");
        }
    }

    /// <summary>An ORT node's kind from its op and input shapes (its NCHWc convolutions no longer carry the model's names).</summary>
    private static string OrtKind(string op, System.Text.Json.JsonElement args)
    {
        if (op is not ("Conv" or "FusedConv") || !args.TryGetProperty("input_type_shape", out var inputs) || inputs.GetArrayLength() < 2)
        {
            return op;
        }
        int[] Dims(System.Text.Json.JsonElement e) => e.EnumerateObject().First().Value.EnumerateArray().Select(d => d.GetInt32()).ToArray();
        var x = Dims(inputs[0]);
        var w = Dims(inputs[1]);
        if (w.Length < 4)
        {
            return "Conv";
        }
        // NCHWc input [N, C/b, H, W, b]: channels are C/b·b; weights keep [O, I/g, kh, kw] (OIHWBiBo adds two block dims).
        var channels = x.Length == 5 ? x[1] * x[4] : x[1];
        var inPerGroup = w.Length == 6 ? w[1] * w[5] : w[1];
        return inPerGroup == 1 && channels > 1 ? "Conv depthwise"
            : inPerGroup < channels ? "Conv grouped"
            : w[2] == 1 && w[3] == 1 ? "Conv pointwise"
            : $"Conv {w[2]}x{w[3]}";
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
