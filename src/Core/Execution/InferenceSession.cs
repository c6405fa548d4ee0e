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
    private readonly ConcurrentDictionary<string, ConcurrentBag<ExecutionPlan>> _plans = new(StringComparer.Ordinal);

    public InferenceSession(Model model, SessionOptions? options = null)
    {
        Options = options ?? new SessionOptions();
        Model = Options.Optimize ? Passes.GraphOptimizer.Optimize(model) : model;
        Model.Graph.SortTopologically();
        var unsupported = OperatorRegistry.FindUnsupported(Model.Graph);
        if (unsupported.Count > 0)
        {
            throw new UnsupportedOperatorException(string.Join(", ", unsupported),
                Model.Graph.Nodes.First(n => !OperatorRegistry.IsSupported(n)).DisplayName,
                "the engine supports " + string.Join(", ", OperatorRegistry.SupportedOps()));
        }
        var ctx = new OperatorContext(Model);
        _ops = Model.Graph.Nodes.Select(n => OperatorRegistry.Create(n, ctx)).ToArray();
        Inputs = Model.Graph.RuntimeInputs.ToArray();
        Outputs = Model.Graph.Outputs.ToArray();
    }

    public SessionOptions Options { get; }

    /// <summary>The graph actually executed (after the passes).</summary>
    public Model Model { get; }
    public IReadOnlyList<ValueInfo> Inputs { get; }
    public IReadOnlyList<ValueInfo> Outputs { get; }

    /// <summary>Runs the model; returns fresh output tensors owned by the caller.</summary>
    public Tensor[] Run(params Tensor[] inputs)
    {
        var plan = Rent(inputs);
        try
        {
            return plan.Run(inputs).Select(t => t.Clone()).ToArray();
        }
        finally
        {
            Return(plan);
        }
    }

    /// <summary>
    /// Runs the model and hands every node's outputs to <paramref name="afterNode"/> as they are
    /// computed (for per-layer statistics and calibration). The tensors are only valid during the call.
    /// </summary>
    public Tensor[] Run(Tensor[] inputs, Action<Node, Tensor[]> afterNode)
    {
        var plan = Rent(inputs);
        try
        {
            return plan.Run(inputs, afterNode).Select(t => t.Clone()).ToArray();
        }
        finally
        {
            Return(plan);
        }
    }

    /// <summary>Builds (or reuses) the plan for these input shapes, e.g. to read inferred shapes.</summary>
    public ExecutionPlan Plan(IReadOnlyList<int[]> inputShapes) =>
        new(Model.Graph, _ops, inputShapes, Options.Threads);

    private ExecutionPlan Rent(Tensor[] inputs)
    {
        if (inputs.Length != Inputs.Count)
        {
            throw new ArgumentException($"The model takes {Inputs.Count} input(s), {inputs.Length} were given.");
        }
        var key = Key(inputs);
        var bag = _plans.GetOrAdd(key, _ => []);
        return bag.TryTake(out var plan) ? plan : Plan(inputs.Select(i => i.Shape).ToArray());
    }

    private void Return(ExecutionPlan plan) => _plans[Key(plan.InputShapes)].Add(plan);

    private static string Key(Tensor[] inputs) => Key(inputs.Select(i => i.Shape).ToArray());

    private static string Key(int[][] shapes) => string.Join(";", shapes.Select(s => string.Join(",", s)));
}
