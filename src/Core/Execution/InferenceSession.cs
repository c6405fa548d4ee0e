using System.Collections.Concurrent;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Execution;

/// <summary>
/// Runs a model on this engine. Operators (and their packed weights) are built once here;
/// an <see cref="ExecutionPlan"/> per input shape holds the buffers. Thread-safe: concurrent
/// callers each take a plan from a pool. A batch of a graph that treats its images independently
/// (<see cref="BatchSeparability"/>) runs as its images, each thread taking whole images through a
/// one-thread plan of batch 1: no fork-join per layer, and each image's values stay in cache
/// (<c>bench split</c>: batch 8 on 2 threads, 5–30 % faster on every model of the suite, both engines).
/// </summary>
public sealed class InferenceSession
{
    private readonly Operator[] _ops;
    private readonly Lock _plansLock = new();

    // Idle plans per set of input shapes; replaced (never mutated) under the lock, scanned without it.
    private PlanPool[] _plans = [];

    private sealed record PlanPool(int[][] Shapes, int Threads, ConcurrentBag<ExecutionPlan> Idle);

    // Per set of input shapes without their batch dimension: whether batches of them run image by image.
    private readonly ConcurrentDictionary<string, bool> _separable = new(StringComparer.Ordinal);

    public InferenceSession(Model model, SessionOptions? options = null)
    {
        Options = options ?? new SessionOptions();
        Model = Prepare(model, Options);
        var ctx = new OperatorContext(Model);
        _ops = Model.Graph.Nodes.Select(n => OperatorRegistry.Create(n, ctx)).ToArray();
        Inputs = Model.Graph.RuntimeInputs.ToArray();
        Outputs = Model.Graph.Outputs.ToArray();
    }

    /// <summary>The graph a session runs: optimized when asked, sorted, every operator supported (else <see cref="UnsupportedOperatorException"/>).</summary>
    internal static Model Prepare(Model model, SessionOptions options)
    {
        var prepared = options.Optimize ? Preparation.GraphOptimizer.Optimize(model) : model;
        prepared.Graph.SortTopologically();
        var unsupported = OperatorRegistry.FindUnsupported(prepared.Graph);
        if (unsupported.Count > 0)
        {
            throw new UnsupportedOperatorException(string.Join(", ", unsupported),
                prepared.Graph.Nodes.First(n => !OperatorRegistry.IsSupported(n)).DisplayName,
                "the engine supports " + string.Join(", ", OperatorRegistry.SupportedOps()));
        }
        return prepared;
    }

    public SessionOptions Options { get; }

    /// <summary>The graph actually executed (after the passes).</summary>
    public Model Model { get; }
    public IReadOnlyList<ValueInfo> Inputs { get; }
    public IReadOnlyList<ValueInfo> Outputs { get; }

    /// <summary>The operators built for the graph's nodes, in run order (e.g. to print each layer's kernel path).</summary>
    public IReadOnlyList<Operator> Operators => _ops;

    /// <summary>Runs the model; returns fresh output tensors owned by the caller.</summary>
    public Tensor[] Run(params Tensor[] inputs)
    {
        if (ImageBatch(inputs) is var batch and > 1)
        {
            return RunImages(inputs, batch);
        }
        var (plan, pool) = Rent(inputs);
        try
        {
            return CopyOut(plan.Run(inputs));
        }
        finally
        {
            pool.Idle.Add(plan);
        }
    }

    /// <summary>
    /// Runs the model and hands every node's outputs to <paramref name="afterNode"/> as they are
    /// computed (for per-layer statistics and calibration). The tensors are only valid during the call.
    /// </summary>
    public Tensor[] Run(Tensor[] inputs, Action<Node, Tensor[]> afterNode)
    {
        var (plan, pool) = Rent(inputs);
        try
        {
            return CopyOut(plan.Run(inputs, afterNode));
        }
        finally
        {
            pool.Idle.Add(plan);
        }
    }

    /// <summary>Builds (or reuses) the plan for these input shapes, e.g. to read inferred shapes.</summary>
    public ExecutionPlan Plan(IReadOnlyList<int[]> inputShapes) => Plan(inputShapes, Options.Threads);

    private ExecutionPlan Plan(IReadOnlyList<int[]> inputShapes, int threads) =>
        new(Model.Graph, _ops, inputShapes, threads, Options.ReuseBuffers, Options.PoisonOutputs);

    /// <summary>Whether <see cref="Run(Tensor[])"/> runs these inputs image by image (tests).</summary>
    internal bool RunsImageByImage(Tensor[] inputs) => ImageBatch(inputs) > 1;

    /// <summary>The batch when these inputs may run image by image on several threads, else 0.</summary>
    private int ImageBatch(Tensor[] inputs)
    {
        if (!Options.ImageParallel || Options.Threads < 2 || inputs.Length != Inputs.Count || inputs.Length == 0 || inputs.Any(i => i.Rank == 0))
        {
            return 0;
        }
        var batch = inputs[0].Shape[0];
        if (batch < 2 || inputs.Any(i => i.Shape[0] != batch))
        {
            return 0;
        }
        var key = string.Join(";", inputs.Select(i => ShapeUtil.Format(i.Shape.AsSpan(1).ToArray())));
        return _separable.GetOrAdd(key, _ => BatchSeparability.Holds(Model.Graph, _ops, inputs.Select(i => i.Shape).ToArray())) ? batch : 0;
    }

    /// <summary>
    /// Bytes of values one thread's images may take at once: about half a core's L2. A model whose values for one
    /// image stay below it (the MNIST nets) runs several images per plan, so its fixed cost per run is paid per group.
    /// </summary>
    private const long ImageGroupBytes = 512 << 10;

    /// <summary>
    /// Each worker takes the next group of images (one image unless they are small, see <see cref="ImageGroupBytes"/>),
    /// runs it through its own one-thread plan and copies its outputs into place.
    /// </summary>
    private Tensor[] RunImages(Tensor[] inputs, int batch)
    {
        var workers = Math.Min(Options.Threads, batch);
        var single = Pool(inputs.Select(i => WithBatch(i.Shape, 1)).ToArray(), 1);
        var probe = single.Idle.TryTake(out var p) ? p : Plan(single.Shapes, 1);
        var results = probe.OutputDescs.Select(d => Tensor.Zeros(d.Type, WithBatch(d.Shape, batch))).ToArray();
        var perImage = Math.Max(1, probe.ValueElements * sizeof(float));
        single.Idle.Add(probe);
        var group = (int)Math.Clamp(ImageGroupBytes / perImage, 1, (batch + workers - 1) / workers);
        var groups = (batch + group - 1) / group;
        var next = -1;
        CpuParallel.For(workers, workers, (w0, w1) =>
        {
            for (var u = Interlocked.Increment(ref next); u < groups; u = Interlocked.Increment(ref next))
            {
                var start = u * group;
                var count = Math.Min(group, batch - start);
                var pool = count == 1 ? single : Pool(inputs.Select(i => WithBatch(i.Shape, count)).ToArray(), 1);
                var plan = pool.Idle.TryTake(out var idle) ? idle : Plan(pool.Shapes, 1);
                try
                {
                    var slices = plan.OwnInputs(inputs);
                    for (var k = 0; k < slices.Length; k++)
                    {
                        Array.Copy(inputs[k].Data, (long)start * (inputs[k].Length / batch), slices[k].Data, 0, slices[k].Length);
                    }
                    var outputs = plan.Run(slices);
                    for (var k = 0; k < outputs.Count; k++)
                    {
                        Array.Copy(outputs[k].Data, 0, results[k].Data, (long)start * (results[k].Length / batch), outputs[k].Length);
                    }
                }
                finally
                {
                    pool.Idle.Add(plan);
                }
            }
        });
        return results;
    }

    private static int[] WithBatch(int[] shape, int batch)
    {
        var s = (int[])shape.Clone();
        s[0] = batch;
        return s;
    }

    private static Tensor[] CopyOut(IReadOnlyList<Tensor> outputs)
    {
        var copies = new Tensor[outputs.Count];
        for (var i = 0; i < copies.Length; i++)
        {
            copies[i] = outputs[i].Clone();
        }
        return copies;
    }

    private (ExecutionPlan Plan, PlanPool Pool) Rent(Tensor[] inputs)
    {
        if (inputs.Length != Inputs.Count)
        {
            throw new ArgumentException($"The model takes {Inputs.Count} input(s), {inputs.Length} were given.");
        }
        var pool = Pool(inputs.Select(i => i.Shape).ToArray(), Options.Threads);
        return (pool.Idle.TryTake(out var plan) ? plan : Plan(pool.Shapes, pool.Threads), pool);
    }

    private PlanPool Pool(int[][] shapes, int threads)
    {
        var pool = Find(Volatile.Read(ref _plans), shapes, threads);
        if (pool is null)
        {
            lock (_plansLock)
            {
                pool = Find(_plans, shapes, threads);
                if (pool is null)
                {
                    pool = new PlanPool(shapes.Select(s => (int[])s.Clone()).ToArray(), threads, []);
                    Volatile.Write(ref _plans, [.. _plans, pool]);
                }
            }
        }
        return pool;
    }

    private static PlanPool? Find(PlanPool[] pools, int[][] shapes, int threads)
    {
        foreach (var pool in pools)
        {
            var same = pool.Threads == threads;
            for (var i = 0; i < shapes.Length && same; i++)
            {
                same = shapes[i].AsSpan().SequenceEqual(pool.Shapes[i]);
            }
            if (same)
            {
                return pool;
            }
        }
        return null;
    }
}
