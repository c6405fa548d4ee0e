using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Simulation;

/// <summary>
/// Runs a float (or simulated-quantized) network and hands back its outputs plus chosen
/// intermediate values. Uses this engine when it implements every operator of the graph, else
/// ONNX Runtime on a standard-ONNX copy (DSConv layers simulated, BfpFakeQuant expanded, captured
/// values made outputs).
/// </summary>
public sealed class NetworkRunner : IDisposable
{
    private readonly InferenceSession? _engine;
    private readonly StreamedSession? _streamed;
    private readonly OrtReference? _ort;
    private readonly HashSet<string> _captures;
    private readonly string[] _outputs;
    private readonly string _input;

    private NetworkRunner(Model model, IEnumerable<string> captures, int threads, bool forceOrt, bool streamed, bool capturesOnly = false)
    {
        _captures = new HashSet<string>(captures, StringComparer.Ordinal);
        _outputs = model.Graph.Outputs.Select(o => o.Name).ToArray();
        var inputs = model.Graph.RuntimeInputs.ToArray();
        if (inputs.Length != 1)
        {
            throw new InvalidModelException($"Only single-input models can be evaluated (this one has {inputs.Length} inputs).");
        }
        _input = inputs[0].Name;
        DynamicBatch = inputs[0].Shape is { Length: > 0 } shape && shape[0] < 0;
        if (!forceOrt && OperatorRegistry.FindUnsupported(model.Graph).Count == 0)
        {
            // The graph passes (activation fusion) would hide intermediate values: only without captures.
            var options = new SessionOptions { Threads = threads, Optimize = _captures.Count == 0 };
            if (streamed)
            {
                _streamed = new StreamedSession(model, options, capturesOnly ? _captures : null);
            }
            else
            {
                _engine = new InferenceSession(model, options);
            }
            UsesEngine = true;
            return;
        }
        // ONNX Runtime knows no DSConv operators: it runs their float simulation (bit-exact BFP, dequantized weights).
        var simulated = model.Graph.Nodes.Any(DSConvNodes.IsDSConv) ? DSConvSimulation.ToFloatGraph(model, simulateActivations: true) : model;
        var standard = BfpOnnxExpansion.ToStandardOnnx(simulated);
        var declared = new HashSet<string>(standard.Graph.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var c in _captures.Where(c => c != _input && !declared.Contains(c)))
        {
            standard.Graph.Outputs.Add(new ValueInfo(c, DataType.Float, null));
        }
        _ort = new OrtReference(OnnxWriter.ToBytes(standard), threads);
    }

    /// <summary>True when this engine runs the graph, false when ONNX Runtime does.</summary>
    public bool UsesEngine { get; }

    /// <summary>The engine session running the graph (null when ONNX Runtime does).</summary>
    public InferenceSession? Engine => _engine;

    public static NetworkRunner Create(Model model, IEnumerable<string>? captures = null, int threads = 0, bool forceOrt = false) =>
        new(model, captures ?? [], threads > 0 ? threads : Environment.ProcessorCount, forceOrt, streamed: false);

    /// <summary>
    /// A runner that holds no operator between runs: each run builds and drops one node's operator at a time
    /// (<see cref="StreamedSession"/>), reading a weight still in its file for that node only. The same values as
    /// <see cref="Create"/> on this engine, for the memory of one layer instead of the model's packed weights; every
    /// run reads and packs the weights again, so for few runs over a model larger than the memory it may use.
    /// A graph this engine cannot run goes to ONNX Runtime as with <see cref="Create"/>.
    /// </summary>
    /// <param name="capturesOnly">The runs stop once the captured values are computed (the graph's outputs are then not
    /// in the results; on ONNX Runtime they still are): for callers that only read captured values.</param>
    public static NetworkRunner CreateStreamed(Model model, IEnumerable<string>? captures = null, int threads = 0, bool capturesOnly = false) =>
        new(model, captures ?? [], threads > 0 ? threads : Environment.ProcessorCount, forceOrt: false, streamed: true, capturesOnly);

    private bool OnEngine => _engine is not null || _streamed is not null;

    private Tensor[] EngineRun(Tensor input, Action<Node, Tensor[]> afterNode) =>
        _engine is not null ? _engine.Run([input], afterNode) : _streamed!.Run([input], afterNode);

    /// <summary>Runs one input; the result maps each graph output and each captured value name to a fresh tensor.</summary>
    public Dictionary<string, Tensor> Run(Tensor input)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (_captures.Contains(_input))
        {
            result[_input] = input;
        }
        if (OnEngine)
        {
            var outs = EngineRun(input, (node, tensors) =>
            {
                for (var k = 0; k < node.Outputs.Count; k++)
                {
                    if (_captures.Contains(node.Outputs[k]))
                    {
                        result[node.Outputs[k]] = tensors[k].Clone();
                    }
                }
            });
            for (var i = 0; i < outs.Length; i++)
            {
                result[_outputs[i]] = outs[i];
            }
            return result;
        }
        var values = _ort!.Run(input);
        for (var i = 0; i < values.Length; i++)
        {
            result[_ort.OutputNames[i]] = values[i];
        }
        return result;
    }

    /// <summary>
    /// Runs one input and hands each captured value to <paramref name="captured"/> without the copy <see cref="Run"/>
    /// makes: on this engine the tensor is only valid during the call (its buffers are reused). For statistics over
    /// many layers, whose copies would be large-object garbage on every run.
    /// </summary>
    public void RunCaptured(Tensor input, Action<string, Tensor> captured)
    {
        if (_captures.Contains(_input))
        {
            captured(_input, input);
        }
        if (OnEngine)
        {
            EngineRun(input, (node, tensors) =>
            {
                for (var k = 0; k < node.Outputs.Count; k++)
                {
                    if (_captures.Contains(node.Outputs[k]))
                    {
                        captured(node.Outputs[k], tensors[k]);
                    }
                }
            });
            return;
        }
        var values = _ort!.Run(input);
        for (var i = 0; i < values.Length; i++)
        {
            if (_captures.Contains(_ort.OutputNames[i]) && _ort.OutputNames[i] != _input)
            {
                captured(_ort.OutputNames[i], values[i]);
            }
        }
    }

    /// <summary>
    /// <see cref="RunCaptured"/> for each of <paramref name="inputs"/> in turn (the index of the input comes with each value);
    /// a streamed runner takes them through each operator together. For every input the values come in the order of
    /// <see cref="RunCaptured"/>; across inputs, a streamed runner gives each node's values for all of them before the next node's.
    /// </summary>
    public void RunManyCaptured(IReadOnlyList<Tensor> inputs, Action<int, string, Tensor> captured)
    {
        if (_streamed is null)
        {
            for (var s = 0; s < inputs.Count; s++)
            {
                var index = s;
                RunCaptured(inputs[s], (name, value) => captured(index, name, value));
            }
            return;
        }
        if (_captures.Contains(_input))
        {
            for (var s = 0; s < inputs.Count; s++)
            {
                captured(s, _input, inputs[s]);
            }
        }
        _streamed.RunMany(inputs.Select(i => new[] { i }).ToList(), (s, node, tensors) =>
        {
            for (var k = 0; k < node.Outputs.Count; k++)
            {
                if (_captures.Contains(node.Outputs[k]))
                {
                    captured(s, node.Outputs[k], tensors[k]);
                }
            }
        });
    }

    /// <summary>True when the model's input has a free batch dimension (inputs can be stacked).</summary>
    public bool DynamicBatch { get; }

    /// <summary>
    /// Runs many single-sample inputs, stacked into batches of up to <paramref name="batch"/> when the
    /// model allows it; returns the per-input results (outputs and captures split along axis 0).
    /// </summary>
    public List<Dictionary<string, Tensor>> RunMany(IReadOnlyList<Tensor> inputs, int batch = 64)
    {
        var results = new List<Dictionary<string, Tensor>>(inputs.Count);
        if (!DynamicBatch || batch <= 1 || inputs.Any(t => t.Rank == 0 || t.Shape[0] != 1 || !t.Shape.AsSpan(1).SequenceEqual(inputs[0].Shape.AsSpan(1))))
        {
            if (_streamed is not null)
            {
                // One input at a time, as Run would, but each operator built once for several of them.
                results.AddRange(inputs.Select(input => _captures.Contains(_input)
                    ? new Dictionary<string, Tensor>(StringComparer.Ordinal) { [_input] = input }
                    : new Dictionary<string, Tensor>(StringComparer.Ordinal)));
                var outs = _streamed.RunMany(inputs.Select(i => new[] { i }).ToList(), (s, node, tensors) =>
                {
                    for (var k = 0; k < node.Outputs.Count; k++)
                    {
                        if (_captures.Contains(node.Outputs[k]))
                        {
                            results[s][node.Outputs[k]] = tensors[k].Clone();
                        }
                    }
                });
                for (var s = 0; s < outs.Count; s++)
                {
                    for (var i = 0; i < outs[s].Length; i++)
                    {
                        results[s][_outputs[i]] = outs[s][i];
                    }
                }
                return results;
            }
            results.AddRange(inputs.Select(Run));
            return results;
        }
        for (var start = 0; start < inputs.Count; start += batch)
        {
            var count = Math.Min(batch, inputs.Count - start);
            var stacked = Stack(inputs, start, count);
            var run = Run(stacked);
            for (var i = 0; i < count; i++)
            {
                results.Add(run.ToDictionary(kv => kv.Key, kv => Row(kv.Value, i, count), StringComparer.Ordinal));
            }
        }
        return results;
    }

    internal static Tensor Stack(IReadOnlyList<Tensor> inputs, int start, int count)
    {
        var len = inputs[start].Length;
        var data = new float[len * count];
        for (var i = 0; i < count; i++)
        {
            inputs[start + i].Floats.CopyTo(data, i * len);
        }
        var shape = (int[])inputs[start].Shape.Clone();
        shape[0] = count;
        return Tensor.FromFloats(shape, data);
    }

    internal static Tensor Row(Tensor t, int i, int count)
    {
        if (t.Rank == 0 || t.Shape[0] != count)
        {
            return t;
        }
        var len = t.Length / count;
        var shape = (int[])t.Shape.Clone();
        shape[0] = 1;
        return Tensor.FromFloats(shape, t.Floats.AsSpan(i * len, len).ToArray());
    }

    /// <summary>The first graph output of a run.</summary>
    public Tensor Output(Dictionary<string, Tensor> run) => run[_outputs[0]];

    public Tensor RunOutput(Tensor input) => Output(Run(input));

    public void Dispose() => _ort?.Dispose();
}
