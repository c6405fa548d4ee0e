using DSConvService.Core.Execution;
using DSConvService.Core.Graph;

namespace DSConvService.Core.Execution.Preparation;

/// <summary>
/// Infers the type and shape of every value for given input shapes with the operators' own
/// <see cref="Operator.InferOutputs"/>, and records them in <see cref="Graph.Graph.ValueInfos"/>.
/// </summary>
public static class ShapeInference
{
    /// <summary>
    /// Runs inference on <paramref name="model"/> (in place: ValueInfos are overwritten, nodes are sorted).
    /// Without <paramref name="inputShapes"/> the declared input shapes are used, unknown dimensions taken as 1.
    /// Returns what was inferred for every value, constants included.
    /// </summary>
    public static IReadOnlyDictionary<string, TensorDesc> Run(Model model, IReadOnlyList<int[]>? inputShapes = null)
    {
        var graph = model.Graph;
        graph.SortTopologically();
        var runtimeInputs = graph.RuntimeInputs.ToArray();
        inputShapes ??= runtimeInputs.Select(DefaultShape).ToArray();
        if (inputShapes.Count != runtimeInputs.Length)
        {
            throw new ArgumentException($"The model takes {runtimeInputs.Length} input(s), {inputShapes.Count} shapes were given.");
        }
        var descs = new Dictionary<string, TensorDesc>(StringComparer.Ordinal);
        foreach (var (name, t) in graph.Initializers)
        {
            descs[name] = TensorDesc.Of(t);
        }
        for (var i = 0; i < runtimeInputs.Length; i++)
        {
            var type = runtimeInputs[i].Type == Tensors.DataType.Undefined ? Tensors.DataType.Float : runtimeInputs[i].Type;
            descs[runtimeInputs[i].Name] = new TensorDesc(type, (int[])inputShapes[i].Clone());
        }
        var context = new OperatorContext(model) { ShapesOnly = true };
        foreach (var node in graph.Nodes)
        {
            var op = OperatorRegistry.Create(node, context);
            var inputs = node.Inputs.Select(n => n.Length == 0 ? null : descs.GetValueOrDefault(n)
                ?? throw new InvalidModelException($"Node {node} reads '{n}', which is not computed before it.")).ToArray();
            var outputs = op.InferOutputs(inputs);
            for (var k = 0; k < node.Outputs.Count && k < outputs.Length; k++)
            {
                if (node.Outputs[k].Length > 0)
                {
                    descs[node.Outputs[k]] = outputs[k];
                    graph.ValueInfos[node.Outputs[k]] = new ValueInfo(node.Outputs[k], outputs[k].Type, (int[])outputs[k].Shape.Clone());
                }
            }
        }
        return descs;
    }

    /// <summary>The declared shape with unknown dimensions (batch, usually) set to 1.</summary>
    public static int[] DefaultShape(ValueInfo input) =>
        input.Shape is null
            ? throw new InvalidModelException($"Input '{input.Name}' declares no shape; give the input shapes explicitly.")
            : input.Shape.Select(d => d < 0 ? 1 : d).ToArray();
}
