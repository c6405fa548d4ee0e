using System.Collections.Concurrent;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution;

/// <summary>
/// Runs a model on this engine. Operators (and their packed weights) are built once here;
/// an <see cref="ExecutionPlan"/> per input shape holds the buffers. Thread-safe: concurrent
/// callers each take a plan from a pool.
/// </summary>
public sealed class InferenceSession
{
    private readonly Operator[] _ops;
    private readonly Lock _plansLock = new();

    // Idle plans per set of input shapes; replaced (never mutated) under the lock, scanned without it.
    private PlanPool[] _plans = [];

    private sealed record PlanPool(int[][] Shapes, ConcurrentBag<ExecutionPlan> Idle);

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
    public ExecutionPlan Plan(IReadOnlyList<int[]> inputShapes) =>
        new(Model.Graph, _ops, inputShapes, Options.Threads, Options.ReuseBuffers, Options.PoisonOutputs);

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
        var pool = Find(Volatile.Read(ref _plans), inputs);
        if (pool is null)
        {
            lock (_plansLock)
            {
                pool = Find(_plans, inputs);
                if (pool is null)
                {
                    pool = new PlanPool(inputs.Select(i => (int[])i.Shape.Clone()).ToArray(), []);
                    Volatile.Write(ref _plans, [.. _plans, pool]);
                }
            }
        }
        return (pool.Idle.TryTake(out var plan) ? plan : Plan(pool.Shapes), pool);
    }

    private static PlanPool? Find(PlanPool[] pools, Tensor[] inputs)
    {
        foreach (var pool in pools)
        {
            var same = true;
            for (var i = 0; i < inputs.Length && same; i++)
            {
                same = inputs[i].Shape.AsSpan().SequenceEqual(pool.Shapes[i]);
            }
            if (same)
            {
                return pool;
            }
        }
        return null;
    }
}
