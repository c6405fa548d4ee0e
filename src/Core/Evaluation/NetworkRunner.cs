using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Evaluation;

/// <summary>
/// Runs a float (or simulated-quantized) network and hands back its outputs plus chosen
/// intermediate values. Uses this engine when it implements every operator of the graph, else
/// ONNX Runtime on a standard-ONNX copy (BfpFakeQuant expanded, captured values made outputs).
/// </summary>
public sealed class NetworkRunner : IDisposable
{
    private readonly InferenceSession? _engine;
    private readonly OrtReference? _ort;
    private readonly HashSet<string> _captures;
    private readonly string[] _outputs;
    private readonly string _input;

    private NetworkRunner(Model model, IEnumerable<string> captures, int threads, bool forceOrt)
    {
        _captures = new HashSet<string>(captures, StringComparer.Ordinal);
        _outputs = model.Graph.Outputs.Select(o => o.Name).ToArray();
        var inputs = model.Graph.RuntimeInputs.ToArray();
        if (inputs.Length != 1)
        {
            throw new InvalidModelException($"Only single-input models can be evaluated (this one has {inputs.Length} inputs).");
        }
        _input = inputs[0].Name;
        if (!forceOrt && OperatorRegistry.FindUnsupported(model.Graph).Count == 0)
        {
            _engine = new InferenceSession(model, new SessionOptions { Threads = threads, Optimize = false });
            UsesEngine = true;
            return;
        }
        var standard = BfpOnnxExpansion.ToStandardOnnx(model);
        var declared = new HashSet<string>(standard.Graph.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var c in _captures.Where(c => c != _input && !declared.Contains(c)))
        {
            standard.Graph.Outputs.Add(new ValueInfo(c, DataType.Float, null));
        }
        _ort = new OrtReference(OnnxWriter.ToBytes(standard), threads);
    }

    /// <summary>True when this engine runs the graph, false when ONNX Runtime does.</summary>
    public bool UsesEngine { get; }

    public static NetworkRunner Create(Model model, IEnumerable<string>? captures = null, int threads = 0, bool forceOrt = false) =>
        new(model, captures ?? [], threads > 0 ? threads : Environment.ProcessorCount, forceOrt);

    /// <summary>Runs one input; the result maps each graph output and each captured value name to a fresh tensor.</summary>
    public Dictionary<string, Tensor> Run(Tensor input)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (_captures.Contains(_input))
        {
            result[_input] = input;
        }
        if (_engine is not null)
        {
            var outs = _engine.Run([input], (node, tensors) =>
            {
                for (var k = 0; k < node.Outputs.Count; k++)
                {
                    if (_captures.Contains(node.Outputs[k]))
                    {
                        result[node.Outputs[k]] = tensors[k].Clone();
                    }
                }
            });
            for (var i = 0; i < _outputs.Length; i++)
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

    /// <summary>The first graph output of a run.</summary>
    public Tensor Output(Dictionary<string, Tensor> run) => run[_outputs[0]];

    public Tensor RunOutput(Tensor input) => Output(Run(input));

    public void Dispose() => _ort?.Dispose();
}
