using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution;

/// <summary>
/// Runs a model on this engine one node at a time, building each node's operator (and packing its weights) just before
/// it runs and dropping it right after: a run holds one layer's weights and packed kernels, not the model's. A weight
/// still in its file (a deferred tensor) is read for the node without being kept by the model, so a model of large
/// weights costs a run its largest layer, not its size; the price is that every run reads and packs the weights again
/// (<see cref="RunMany"/> runs several inputs through each operator while it exists, to pay it fewer times).
/// The operators, their inputs, shapes, constants and thread count are those of an <see cref="InferenceSession"/> on the
/// same model and options, so the values are the same, bit for bit (the graph passes are the same too).
/// </summary>
public sealed class StreamedSession
{
    /// <summary>
    /// <see cref="RunMany"/> takes as many inputs at a time through the graph as keep the values alive at once (measured
    /// on the first input) within this many bytes.
    /// </summary>
    public const long FrontierBytes = 128L << 20;

    private readonly int _threads;

    // The index of the last node reading each value (graph outputs: never dropped).
    private readonly Dictionary<string, int> _lastRead = new(StringComparer.Ordinal);

    // Each node's weight, packed kernels and the values it reads are garbage once it has run, most of it on the
    // large-object heap: counted, so that a big model's runs collect them before they pile up (small models never do).
    // Not compacting: the next runs allocate buffers of the same sizes into the freed space.
    private readonly ReleasedMemory _released = new(compact: false);

    // The last node to run: all of them, or the last producing a value of `until`.
    private readonly int _stop;

    /// <param name="until">When given, runs stop after the last node that produces one of these values: the graph's outputs
    /// are then not computed (<see cref="Run"/> and <see cref="RunMany"/> return no outputs), for callers that only look
    /// at those values through afterNode.</param>
    public StreamedSession(Model model, SessionOptions? options = null, IReadOnlyCollection<string>? until = null)
    {
        var o = options ?? new SessionOptions();
        _threads = o.Threads;
        Model = InferenceSession.Prepare(model, o);
        Inputs = Model.Graph.RuntimeInputs.ToArray();
        Outputs = Model.Graph.Outputs.ToArray();
        var nodes = Model.Graph.Nodes;
        for (var i = 0; i < nodes.Count; i++)
        {
            foreach (var name in nodes[i].Inputs)
            {
                if (name.Length > 0)
                {
                    _lastRead[name] = i;
                }
            }
        }
        foreach (var output in Outputs)
        {
            _lastRead[output.Name] = int.MaxValue;
        }
        _stop = nodes.Count - 1;
        if (until is not null)
        {
            var wanted = new HashSet<string>(until, StringComparer.Ordinal);
            _stop = -1;
            for (var i = 0; i < nodes.Count; i++)
            {
                if (nodes[i].Outputs.Any(wanted.Contains))
                {
                    _stop = i;
                }
            }
        }
    }

    /// <summary>False when runs stop before the last node (see the constructor's until): they return no outputs.</summary>
    public bool ComputesOutputs => _stop == Model.Graph.Nodes.Count - 1;

    /// <summary>The graph actually executed (after the passes).</summary>
    public Model Model { get; }
    public IReadOnlyList<ValueInfo> Inputs { get; }
    public IReadOnlyList<ValueInfo> Outputs { get; }

    /// <summary>
    /// Runs the model; returns the output tensors (the caller's). <paramref name="afterNode"/> sees every node's outputs as
    /// an <see cref="InferenceSession"/> run would (nodes whose outputs are all known from shapes are not run, nor shown);
    /// they are valid only during the call.
    /// </summary>
    public Tensor[] Run(Tensor[] inputs, Action<Node, Tensor[]>? afterNode = null) =>
        RunMany([inputs], afterNode is null ? null : (_, node, outs) => afterNode(node, outs))[0];

    /// <summary>
    /// Runs each of <paramref name="samples"/> (one input set each) as <see cref="Run"/> would, several at a time through
    /// every operator: the first alone, then as many at once as keep their live values within <see cref="FrontierBytes"/>.
    /// <paramref name="afterNode"/> gets the sample's index with each node's outputs.
    /// </summary>
    public List<Tensor[]> RunMany(IReadOnlyList<Tensor[]> samples, Action<int, Node, Tensor[]>? afterNode = null)
    {
        var results = new List<Tensor[]>(samples.Count);
        var start = 0;
        var chunk = 1;
        while (start < samples.Count)
        {
            var count = Math.Min(chunk, samples.Count - start);
            var frontier = RunChunk(samples, start, count, afterNode, results);
            if (start == 0)
            {
                chunk = (int)Math.Clamp(FrontierBytes / Math.Max(1, frontier), 1, int.MaxValue);
            }
            start += count;
        }
        return results;
    }

    // Runs samples [start, start + count) node by node; returns the most bytes of values one sample held at once.
    private long RunChunk(IReadOnlyList<Tensor[]> samples, int start, int count, Action<int, Node, Tensor[]>? afterNode, List<Tensor[]> results)
    {
        var graph = Model.Graph;
        var values = new Dictionary<string, Tensor>[count];
        // What planning knows of each computed value: a value known from shapes alone stays a constant, as in a plan.
        var descs = new Dictionary<string, TensorDesc>[count];
        var pooled = new HashSet<string>[count];
        var live = new long[count];
        long frontier = 0;
        for (var s = 0; s < count; s++)
        {
            var inputs = samples[start + s];
            if (inputs.Length != Inputs.Count)
            {
                throw new ArgumentException($"The model takes {Inputs.Count} input(s), {inputs.Length} were given.");
            }
            values[s] = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            descs[s] = new Dictionary<string, TensorDesc>(StringComparer.Ordinal);
            pooled[s] = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < inputs.Length; i++)
            {
                values[s][Inputs[i].Name] = inputs[i];
                descs[s][Inputs[i].Name] = new TensorDesc(inputs[i].Type, inputs[i].Shape);
                live[s] += Bytes(inputs[i]);
            }
            frontier = Math.Max(frontier, live[s]);
        }
        var scratch = Array.Empty<float>();
        // As in a plan, a value's buffer goes back to a pool after its last reader and a later value of its size takes it.
        var pool = new BufferPool();
        var nodes = graph.Nodes;
        for (var index = 0; index <= _stop; index++)
        {
            var node = nodes[index];
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            // The node's own constants, read for it alone: a deferred weight is not kept by the model's tensor.
            var own = new Model(new Graph.Graph()) { IrVersion = Model.IrVersion };
            own.Opsets.Clear();
            foreach (var (k, v) in Model.Opsets)
            {
                own.Opsets[k] = v;
            }
            foreach (var name in node.Inputs)
            {
                if (name.Length > 0 && !own.Graph.Initializers.ContainsKey(name) && graph.Initializers.TryGetValue(name, out var constant))
                {
                    own.Graph.Initializers[name] = constant.IsLoaded ? constant : new Tensor(constant.Type, constant.Shape, constant.ReadUncached());
                }
            }
            var op = OperatorRegistry.Create(node, new OperatorContext(own));
            for (var s = 0; s < count; s++)
            {
                var args = new Tensor?[node.Inputs.Count];
                var inDescs = new TensorDesc?[node.Inputs.Count];
                for (var k = 0; k < node.Inputs.Count; k++)
                {
                    var name = node.Inputs[k];
                    if (name.Length == 0)
                    {
                        continue;
                    }
                    if (own.Graph.Initializers.TryGetValue(name, out var t))
                    {
                        args[k] = t;
                        inDescs[k] = TensorDesc.Of(t);
                    }
                    else
                    {
                        args[k] = values[s].GetValueOrDefault(name);
                        inDescs[k] = descs[s].GetValueOrDefault(name) ?? throw new InvalidModelException($"Node {node} reads '{name}', which is not computed before it.");
                    }
                }
                var outDescs = op.InferOutputs(inDescs);
                var outs = new Tensor[node.Outputs.Count];
                for (var k = 0; k < outs.Length; k++)
                {
                    var d = k < outDescs.Length ? outDescs[k] : throw new InvalidModelException($"Node {node} produces fewer outputs than the graph uses.");
                    if (d.Constant is { } known)
                    {
                        outs[k] = known;
                    }
                    else
                    {
                        outs[k] = pool.Take(d.Type, d.Shape);
                        pooled[s].Add(node.Outputs[k]);
                        live[s] += Bytes(outs[k]);
                    }
                    descs[s][node.Outputs[k]] = d;
                    values[s][node.Outputs[k]] = outs[k];
                }
                frontier = Math.Max(frontier, live[s]);
                if (!outDescs.Take(outs.Length).All(d => d.IsConstant))
                {
                    var floats = op.ScratchFloats(inDescs);
                    if (floats > Array.MaxLength)
                    {
                        throw new InvalidModelException("The model needs more scratch memory than one array can hold; use a smaller input.");
                    }
                    if (floats > scratch.Length)
                    {
                        scratch = new float[floats];
                    }
                    op.Run(args, outs, new RunContext(_threads, scratch));
                    afterNode?.Invoke(start + s, node, outs);
                }
                foreach (var name in node.Inputs)
                {
                    if (name.Length > 0 && _lastRead.TryGetValue(name, out var last) && last <= index)
                    {
                        Drop(s, name);
                    }
                }
                foreach (var name in node.Outputs)
                {
                    if (!_lastRead.ContainsKey(name))
                    {
                        Drop(s, name);
                    }
                }
            }
            _released.Released(GC.GetAllocatedBytesForCurrentThread() - allocated);
        }
        for (var s = 0; s < count; s++)
        {
            var outputs = ComputesOutputs ? new Tensor[Outputs.Count] : [];
            for (var i = 0; i < outputs.Length; i++)
            {
                outputs[i] = values[s].TryGetValue(Outputs[i].Name, out var t) ? t
                    : throw new InvalidModelException($"Graph output '{Outputs[i].Name}' is not computed by any node.");
            }
            results.Add(outputs);
        }
        return frontier;

        void Drop(int s, string name)
        {
            if (values[s].Remove(name, out var t) && pooled[s].Remove(name))
            {
                pool.Return(t);
                live[s] -= Bytes(t);
            }
        }
    }

    private static long Bytes(Tensor t) => (long)t.Length * t.Type.Storage() switch
    {
        StorageKind.Float => sizeof(float),
        StorageKind.Int64 => sizeof(long),
        _ => 1,
    };
}
