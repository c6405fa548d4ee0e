using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Tensors;

namespace DSConvService.TestSupport;

/// <summary>
/// Builds small ONNX models in code for tests: inputs, constant initializers, nodes with
/// attributes, outputs. The result runs both on this engine and in ONNX Runtime.
/// </summary>
public sealed class ModelBuilder
{
    private readonly Graph _graph = new() { Name = "test" };
    private readonly long _opset;
    private int _counter;

    public ModelBuilder(long opset = 13) => _opset = opset;

    public string Input(string name, params int[] shape) => Input(name, DataType.Float, shape);

    public string Input(string name, DataType type, params int[] shape)
    {
        _graph.Inputs.Add(new ValueInfo(name, type, shape));
        return name;
    }

    public string Initializer(Tensor t, string? name = null)
    {
        name ??= $"c{_counter++}";
        _graph.Initializers[name] = t;
        return name;
    }

    public string Floats(int[] shape, float[] data) => Initializer(Tensor.FromFloats(shape, data));

    public string Longs(params long[] data) => Initializer(Tensor.FromLongs([data.Length], data));

    /// <summary>Adds a node; attributes are long, float, string, long[], float[], int[] or Tensor. Returns the first output.</summary>
    public string Node(string op, string[] inputs, object? attributes = null) => NodeN(op, inputs, 1, attributes)[0];

    public string[] NodeN(string op, string[] inputs, int outputs, object? attributes = null)
    {
        var names = Enumerable.Range(0, outputs).Select(_ => $"v{_counter++}").ToArray();
        var node = new Node(op, inputs, names, $"{op}_{_counter}");
        if (attributes is not null)
        {
            foreach (var p in attributes.GetType().GetProperties())
            {
                node.Attributes[p.Name] = p.GetValue(attributes) switch
                {
                    long l => AttributeValue.Of(l),
                    int i => AttributeValue.Of((long)i),
                    float f => AttributeValue.Of(f),
                    double d => AttributeValue.Of((float)d),
                    string s => AttributeValue.Of(s),
                    long[] la => AttributeValue.Of(la),
                    int[] ia => AttributeValue.Of(ia.Select(x => (long)x).ToArray()),
                    float[] fa => AttributeValue.Of(fa),
                    Tensor t => AttributeValue.Of(t),
                    var other => throw new ArgumentException($"Attribute {p.Name} has unsupported type {other?.GetType()}."),
                };
            }
        }
        _graph.Nodes.Add(node);
        return names;
    }

    public ModelBuilder Output(string name, DataType type = DataType.Float)
    {
        _graph.Outputs.Add(new ValueInfo(name, type, null));
        return this;
    }

    public Model Build()
    {
        var model = new Model(ModelCloner.CloneGraph(_graph)) { IrVersion = _opset >= 21 ? 10 : 8 };
        model.Opsets[""] = _opset;
        return model;
    }

    public byte[] ToBytes() => OnnxWriter.ToBytes(Build());
}
