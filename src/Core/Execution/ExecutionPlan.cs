using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution;

/// <summary>
/// A session specialised to one set of input shapes: every value's shape is inferred and every
/// output buffer and the shared scratch memory are allocated once, here, not per run.
/// A plan runs one inference at a time; the session keeps a pool of them for concurrent callers.
/// </summary>
public sealed class ExecutionPlan
{
    private readonly Step[] _steps;
    private readonly Dictionary<string, Tensor> _values;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly RunContext _context;
    private readonly bool _poison;
    private readonly HashSet<Tensor> _constantOuts = new(ReferenceEqualityComparer.Instance);

    // Run-time view of _values: one slot per value, so a run looks nothing up by name and allocates nothing.
    private readonly Dictionary<string, int> _slotOf = new(StringComparer.Ordinal);
    private readonly Tensor?[] _slots;
    private readonly int[] _inputSlots;
    private readonly int[] _outputSlots;
    private readonly Tensor[] _results;

    /// <summary>One operator call; <see cref="Args"/> is the reused argument array (a plan runs one inference at a time).</summary>
    /// <param name="IsView">The outputs are views of the input (a shape change): nothing to run, only afterNode to call.</param>
    private sealed record Step(Operator Op, int[] InputSlots, Tensor?[] Args, Tensor[] Outputs, bool IsView);

    internal ExecutionPlan(Graph.Graph graph, Operator[] ops, IReadOnlyList<int[]> inputShapes, int threads, bool reuseBuffers = true, bool poisonOutputs = false)
    {
        _inputNames = graph.RuntimeInputs.Select(i => i.Name).ToArray();
        _outputNames = graph.Outputs.Select(o => o.Name).ToArray();
        InputShapes = inputShapes.Select(s => (int[])s.Clone()).ToArray();
        var descs = new Dictionary<string, TensorDesc>(StringComparer.Ordinal);
        ReusesBuffers = reuseBuffers;
        _poison = poisonOutputs;
        _values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in graph.Initializers)
        {
            descs[name] = TensorDesc.Of(t);
            _values[name] = t;
        }
        var inputs = graph.RuntimeInputs.ToArray();
        for (var i = 0; i < inputs.Length; i++)
        {
            var type = inputs[i].Type == DataType.Undefined ? DataType.Float : inputs[i].Type;
            descs[inputs[i].Name] = new TensorDesc(type, inputShapes[i]);
        }
        var steps = new List<Step>(ops.Length);
        long scratch = 0;
        var lastRead = LastReads(ops, _outputNames);
        var pool = reuseBuffers ? new BufferPool() : null;
        long ownElements = 0;
        // A pooled buffer and the views of it share one array: it goes back to the pool after the last read of any of them.
        var rootOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var releaseAfter = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var index = 0; index < ops.Length; index++)
        {
            var op = ops[index];
            var node = op.Node;
            var inDescs = node.Inputs.Select(n => n.Length == 0 ? null : descs.GetValueOrDefault(n)
                ?? throw new InvalidModelException($"Node {node} reads '{n}', which is not computed before it.")).ToArray();
            var outDescs = op.InferOutputs(inDescs);
            scratch = Math.Max(scratch, op.ScratchFloats(inDescs));
            var outs = new Tensor[node.Outputs.Count];
            // A shape change of a value this plan owns (not a run-time input) is a view of the same array: no copy.
            var view = op is Ops.ShapeChangeOperator && outs.Length == 1 && outDescs.Length > 0 && outDescs[0].Constant is null
                && node.Input(0) is { } source && _values.TryGetValue(source, out var sourceTensor) ? sourceTensor : null;
            for (var k = 0; k < outs.Length; k++)
            {
                var d = k < outDescs.Length ? outDescs[k] : throw new InvalidModelException($"Node {node} produces fewer outputs than the graph uses.");
                var name = node.Outputs[k];
                if (d.Constant is not null)
                {
                    outs[k] = d.Constant;
                    if (poisonOutputs)
                    {
                        _constantOuts.Add(d.Constant);
                    }
                }
                else if (view is not null)
                {
                    outs[k] = view.Reshaped(d.Shape);
                    if (rootOf.TryGetValue(node.Inputs[0], out var root))
                    {
                        rootOf[name] = root;
                        releaseAfter[root] = Math.Max(releaseAfter[root], lastRead.GetValueOrDefault(name, index));
                    }
                }
                else if (pool is not null)
                {
                    outs[k] = pool.Take(d.Type, d.Shape);
                    rootOf[name] = name;
                    releaseAfter[name] = lastRead.GetValueOrDefault(name, index);
                }
                else
                {
                    outs[k] = Tensor.Zeros(d.Type, d.Shape);
                    ownElements += outs[k].Length;
                }
                descs[name] = d;
                _values[name] = outs[k];
            }
            if (pool is not null)
            {
                Release(pool, node.Inputs.Concat(node.Outputs), index, rootOf, releaseAfter);
            }
            // A node whose outputs are all known from shapes alone (Shape, or shape arithmetic on it) needs no run.
            if (outDescs.Take(outs.Length).All(d => d.IsConstant))
            {
                continue;
            }
            steps.Add(new Step(op, node.Inputs.Select(n => n.Length == 0 ? -1 : Slot(n)).ToArray(), new Tensor?[node.Inputs.Count], outs, view is not null));
        }
        foreach (var o in _outputNames)
        {
            if (!descs.ContainsKey(o))
            {
                throw new InvalidModelException($"Graph output '{o}' is not computed by any node.");
            }
        }
        _steps = steps.ToArray();
        ValueElements = pool?.AllocatedElements ?? ownElements;
        _inputSlots = _inputNames.Select(Slot).ToArray();
        _outputSlots = _outputNames.Select(Slot).ToArray();
        _slots = new Tensor?[_slotOf.Count];
        foreach (var (name, slot) in _slotOf)
        {
            _slots[slot] = _values.GetValueOrDefault(name);
        }
        _results = new Tensor[_outputNames.Length];
        OutputDescs = _outputNames.Select(o => descs[o]).ToArray();
        ValueDescs = descs;
        if (scratch > Array.MaxLength)
        {
            throw new InvalidModelException("The model needs more scratch memory than one array can hold; use a smaller input.");
        }
        _context = new RunContext(threads, new float[scratch]);
    }

    public int[][] InputShapes { get; }

    /// <summary>Floats of the scratch memory all operators of this plan share.</summary>
    internal long ScratchFloats => _context.Scratch.Length;

    private Tensor[]? _ownInputs;

    /// <summary>
    /// Input tensors that belong to this plan, of its input shapes and the given types, made once: a caller that rents
    /// the plan fills them in place (the session's image-by-image runs) instead of allocating an image per run.
    /// </summary>
    internal Tensor[] OwnInputs(IReadOnlyList<Tensor> like)
    {
        if (_ownInputs is null || _ownInputs.Where((t, i) => t.Type != like[i].Type).Any())
        {
            _ownInputs = InputShapes.Select((shape, i) => Tensor.Zeros(like[i].Type, shape)).ToArray();
        }
        return _ownInputs;
    }

    /// <summary>Values share buffers once their last reader has run (see <see cref="BufferPool"/>).</summary>
    public bool ReusesBuffers { get; }

    /// <summary>Elements of the buffers this plan allocated for computed values (constants and views excluded).</summary>
    public long ValueElements { get; }
    public IReadOnlyList<TensorDesc> OutputDescs { get; }

    /// <summary>Inferred type and shape of every value of the graph for this plan's input shapes.</summary>
    public IReadOnlyDictionary<string, TensorDesc> ValueDescs { get; }

    /// <summary>
    /// Runs the graph. The returned list and tensors are the plan's own: valid until the next run of
    /// this plan (the session copies them before handing them out).
    /// </summary>
    public IReadOnlyList<Tensor> Run(IReadOnlyList<Tensor> inputs, Action<Node, Tensor[]>? afterNode = null)
    {
        if (inputs.Count != _inputNames.Length)
        {
            throw new ArgumentException($"The model takes {_inputNames.Length} input(s), {inputs.Count} were given.");
        }
        for (var i = 0; i < inputs.Count; i++)
        {
            _values[_inputNames[i]] = inputs[i];
            _slots[_inputSlots[i]] = inputs[i];
        }
        foreach (var step in _steps)
        {
            var args = step.Args;
            for (var k = 0; k < args.Length; k++)
            {
                var slot = step.InputSlots[k];
                args[k] = slot < 0 ? null : _slots[slot];
            }
            if (!step.IsView)
            {
                if (_poison)
                {
                    Poison(step.Outputs);
                }
                step.Op.Run(args, step.Outputs, _context);
            }
            afterNode?.Invoke(step.Op.Node, step.Outputs);
        }
        for (var i = 0; i < _results.Length; i++)
        {
            _results[i] = _slots[_outputSlots[i]]!;
        }
        return _results;
    }

    /// <summary>The index of the last operator reading each value; graph outputs are read after the last one.</summary>
    private static Dictionary<string, int> LastReads(Operator[] ops, string[] outputs)
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < ops.Length; i++)
        {
            foreach (var name in ops[i].Node.Inputs)
            {
                if (name.Length > 0)
                {
                    last[name] = i;
                }
            }
        }
        foreach (var o in outputs)
        {
            last[o] = int.MaxValue;
        }
        return last;
    }

    private void Release(BufferPool pool, IEnumerable<string> names, int index,
        Dictionary<string, string> rootOf, Dictionary<string, int> releaseAfter)
    {
        foreach (var name in names)
        {
            if (name.Length > 0 && rootOf.TryGetValue(name, out var root) && releaseAfter.TryGetValue(root, out var after) && after <= index)
            {
                releaseAfter.Remove(root);
                pool.Return(_values[root]);
            }
        }
    }

    /// <summary>
    /// Every output is filled with garbage before its operator runs, so an operator that leaves part of its
    /// output unwritten (relying on zeros or on the last run) gives wrong results in tests. Buffer reuse
    /// makes that a correctness rule: a pooled buffer holds another value's data.
    /// </summary>
    private void Poison(Tensor[] outputs)
    {
        foreach (var o in outputs)
        {
            if (_constantOuts.Contains(o))
            {
                continue;
            }
            switch (o.Data)
            {
                case float[] f: Array.Fill(f, float.NaN); break;
                case long[] l: Array.Fill(l, long.MinValue + 7); break;
                case sbyte[] sb: Array.Fill(sb, (sbyte)-77); break;
                case byte[] b: Array.Fill(b, (byte)201); break;
            }
        }
    }

    private int Slot(string name)
    {
        if (!_slotOf.TryGetValue(name, out var slot))
        {
            slot = _slotOf.Count;
            _slotOf[name] = slot;
        }
        return slot;
    }

    /// <summary>The current content of any value after a run (intermediate tensors included).</summary>
    public Tensor Value(string name) => _values.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"No value named '{name}'.");
}
