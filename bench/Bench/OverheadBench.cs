using DSConvService.Core.Evaluation;
using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Pooling;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;

namespace DSConvService.Bench;

/// <summary>
/// `overhead`: fixed costs of our executor on a small model, in process CPU time (1 thread by default):
/// per run, the part spent inside nodes and outside them, bytes allocated, and the CPU time per node.
/// `overhead pool` times the ResNet18 MaxPool (64x112x112, 3x3 stride 2, pad 1) kernels alone;
/// `overhead ops` the ResNet18 pooling, Add and Relu nodes as one-node models, ours vs ONNX Runtime.
/// </summary>
public static class OverheadBench
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "pool")
        {
            return Pool(args[1..]);
        }
        if (args.Length > 0 && args[0] == "ops")
        {
            return Ops(args.Length > 2 && args[1] == "--runs" ? int.Parse(args[2]) : 300);
        }
        string? path = null;
        int runs = 2000, threads = 1;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--model": path = args[i + 1]; break;
                case "--runs": runs = int.Parse(args[i + 1]); break;
                case "--threads": threads = int.Parse(args[i + 1]); break;
                default: throw new ArgumentException($"Unknown option {args[i]}.");
            }
        }
        if (path is null)
        {
            Console.Error.WriteLine("usage: overhead --model file.onnx [--runs N] [--threads T] | overhead pool [--runs N]");
            return 1;
        }
        // A DSConv artifact comes back with its DSConv nodes (integer kernels); a plain model is unchanged.
        var session = new InferenceSession(DSConvService.Core.Quantization.Artifact.DSConvArtifact.Load(File.ReadAllBytes(path)).Model, new SessionOptions { Threads = threads });
        var inputs = session.Inputs
            .Select(v => (v.Shape ?? [1]).Select(d => d > 0 ? d : 1).ToArray())
            .Select(s => Tensor.FromFloats(s, Enumerable.Range(0, ShapeUtil.Size(s)).Select(i => (float)Math.Sin(i)).ToArray()))
            .ToArray();
        // Warm-up curve: the JIT compiles hot methods again (tier 1) only after ~30 calls and a delay.
        var curve = new List<string>();
        var wall = System.Diagnostics.Stopwatch.StartNew();
        for (var block = 0; block < 8; block++)
        {
            var t0 = CpuClock.ProcessMs();
            var w0 = wall.Elapsed.TotalMilliseconds;
            for (var i = 0; i < 50; i++)
            {
                session.Run(inputs);
            }
            curve.Add($"{(CpuClock.ProcessMs() - t0) / 50 * 1e3:F0}/{(wall.Elapsed.TotalMilliseconds - w0) / 50 * 1e3:F0}");
        }
        var perNode = new Dictionary<string, (string Op, double Ms)>();
        var last = 0.0;
        Action<DSConvService.Core.Graph.Node, Tensor[]> afterNode = (node, _) =>
        {
            var now = CpuClock.ProcessMs();
            var key = node.DisplayName;
            perNode[key] = (node.OpType, (perNode.TryGetValue(key, out var v) ? v.Ms : 0) + now - last);
            last = now;
        };
        // Plain runs: CPU time and allocations per run.
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var start = CpuClock.ProcessMs();
        for (var r = 0; r < runs; r++)
        {
            session.Run(inputs);
        }
        var runMs = (CpuClock.ProcessMs() - start) / runs;
        var bytes = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)runs;
        // Runs with the per-node callback: the gap before the first node and after the last is "outside".
        var outside = 0.0;
        var callbackStart = CpuClock.ProcessMs();
        for (var r = 0; r < runs; r++)
        {
            var begin = CpuClock.ProcessMs();
            last = begin;
            session.Run(inputs, afterNode);
            outside += CpuClock.ProcessMs() - last;
        }
        Console.WriteLine($"{Path.GetFileName(path)}: {threads} thread(s), {runs} runs, process CPU time");
        Console.WriteLine($"  warm-up, blocks of 50 runs, us CPU/wall per run: {string.Join("  ", curve)}");
        Console.WriteLine($"  per run            {runMs * 1e3,9:F1} us   allocated {bytes,8:F0} B/run");
        Console.WriteLine($"  with callbacks     {(CpuClock.ProcessMs() - callbackStart) / runs * 1e3,9:F1} us");
        Console.WriteLine($"  after last node    {outside / runs * 1e3,9:F1} us   (copying outputs, returning the plan)");
        Console.WriteLine("  by op type (us/run, incl. the gap before each node):");
        foreach (var g in perNode.Values.GroupBy(v => v.Op).OrderByDescending(g => g.Sum(v => v.Ms)))
        {
            Console.WriteLine($"    {g.Key,-22} {g.Count(),3} nodes {g.Sum(v => v.Ms) / runs * 1e3,9:F1}");
        }
        Console.WriteLine("  by node:");
        foreach (var (name, v) in perNode)
        {
            Console.WriteLine($"    {name,-36} {v.Op,-14} {v.Ms / runs * 1e3,9:F1}");
        }
        return 0;
    }

    private static int Pool(string[] args)
    {
        int runs = 200, planes = 64;
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--runs": runs = int.Parse(args[i + 1]); break;
                case "--planes": planes = int.Parse(args[i + 1]); break;
                default: throw new ArgumentException($"Unknown option {args[i]}.");
            }
        }
        const int size = 112, outSize = 56;
        var g = new PoolWindow(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, size, size, outSize, outSize);
        var x = Enumerable.Range(0, planes * size * size).Select(i => (float)Math.Sin(i)).ToArray();
        var y = new float[planes * outSize * outSize];
        var scratch = new float[g.ScratchLength];
        void Max()
        {
            for (var p = 0; p < planes; p++)
            {
                MaxPoolKernel.Plane(x.AsSpan(p * size * size, size * size), y.AsSpan(p * outSize * outSize, outSize * outSize), g, scratch);
            }
        }
        void Avg()
        {
            for (var p = 0; p < planes; p++)
            {
                AveragePoolKernel.Plane(x.AsSpan(p * size * size, size * size), y.AsSpan(p * outSize * outSize, outSize * outSize), g, false, scratch);
            }
        }
        foreach (var (name, action) in new (string, Action)[] { ("MaxPool", Max), ("AveragePool", Avg) })
        {
            for (var i = 0; i < 10; i++)
            {
                action();
            }
            var start = CpuClock.ProcessMs();
            for (var i = 0; i < runs; i++)
            {
                action();
            }
            Console.WriteLine($"{name} 3x3/2 pad 1 on {planes}x112x112: {(CpuClock.ProcessMs() - start) / runs:F3} CPU ms per call");
        }
        return 0;
    }

    private static int Ops(int runs)
    {
        var cases = new (string Name, string Op, int[][] Inputs, (string, AttributeValue)[] Attributes)[]
        {
            ("MaxPool 3x3/2 p1 64x112x112", "MaxPool", [[1, 64, 112, 112]],
                [("kernel_shape", AttributeValue.Of([3L, 3])), ("strides", AttributeValue.Of([2L, 2])), ("pads", AttributeValue.Of([1L, 1, 1, 1]))]),
            ("AveragePool 3x3/2 p1 64x112x112", "AveragePool", [[1, 64, 112, 112]],
                [("kernel_shape", AttributeValue.Of([3L, 3])), ("strides", AttributeValue.Of([2L, 2])), ("pads", AttributeValue.Of([1L, 1, 1, 1]))]),
            ("Add 64x56x56", "Add", [[1, 64, 56, 56], [1, 64, 56, 56]], []),
            ("Relu 64x56x56", "Relu", [[1, 64, 56, 56]], []),
            ("Add 512x7x7", "Add", [[1, 512, 7, 7], [1, 512, 7, 7]], []),
            ("Relu 512x7x7", "Relu", [[1, 512, 7, 7]], []),
            ("GlobalAveragePool 512x7x7", "GlobalAveragePool", [[1, 512, 7, 7]], []),
        };
        Console.WriteLine($"one-node models, 1 thread, process CPU time per run (incl. the output copy), median of {runs}");
        Console.WriteLine("| Node | Ours (us) | ONNX Runtime (us) | Ours / ORT |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        foreach (var (name, op, shapes, attributes) in cases)
        {
            var graph = new Graph { Name = op };
            var names = shapes.Select((shape, i) => $"x{i}").ToArray();
            for (var i = 0; i < shapes.Length; i++)
            {
                graph.Inputs.Add(new ValueInfo(names[i], DataType.Float, shapes[i]));
            }
            var node = new Node(op, names, ["y"], op);
            foreach (var (key, value) in attributes)
            {
                node.Attributes[key] = value;
            }
            graph.Nodes.Add(node);
            graph.Outputs.Add(new ValueInfo("y", DataType.Float, null));
            var model = new Model(graph);
            model.Opsets[""] = 13;
            var inputs = shapes.Select((shape, k) => Tensor.FromFloats(shape, Enumerable.Range(0, ShapeUtil.Size(shape)).Select(i => (float)Math.Sin(i + k)).ToArray())).ToArray();
            var ours = new InferenceSession(model, new SessionOptions { Threads = 1 });
            using var ort = new OrtReference(OnnxWriter.ToBytes(model), 1);
            var oursUs = PerRunUs(() => ours.Run(inputs), runs);
            var ortUs = PerRunUs(() => ort.Run(inputs), runs);
            Console.WriteLine($"| {name} | {oursUs:F1} | {ortUs:F1} | {oursUs / ortUs:F2} |");
        }
        return 0;
    }

    /// <summary>Median CPU time of one run in µs (GC pauses and preemption by other processes land in the tail).</summary>
    private static double PerRunUs(Action run, int runs)
    {
        for (var i = 0; i < 20; i++)
        {
            run();
        }
        var times = new double[runs];
        for (var i = 0; i < runs; i++)
        {
            var start = CpuClock.ProcessMs();
            run();
            times[i] = (CpuClock.ProcessMs() - start) * 1e3;
        }
        Array.Sort(times);
        return times[runs / 2];
    }
}
