using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Passes;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Preparation;

/// <summary>
/// Turns Constant nodes into initializers and evaluates, once, every node whose inputs are all
/// initializers, with the engine's own operators; the results replace the nodes as initializers.
/// Nodes producing graph outputs, random ops and nodes the engine cannot run are left alone.
/// </summary>
public static class ConstantFolding
{
    /// <summary>Results larger than this many elements stay computed at run time (e.g. a big ConstantOfShape).</summary>
    public const int MaxFoldedElements = 1 << 24;

    private static readonly HashSet<string> NonDeterministic = new(StringComparer.Ordinal)
    {
        "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli",
    };

    /// <summary>Folds in node order (the graph must be sorted topologically); returns the number of nodes folded.</summary>
    public static int Run(Model model)
    {
        var graph = model.Graph;
        var context = new OperatorContext(model);
        var folded = 0;
        foreach (var node in graph.Nodes.ToList())
        {
            if (!CanFold(graph, node))
            {
                continue;
            }
            var results = node.OpType == "Constant" && node.Domain is "" or "ai.onnx" ? ConstantValue(node) : Evaluate(graph, node, context);
            if (results is null)
            {
                continue;
            }
            graph.Nodes.Remove(node);
            for (var k = 0; k < node.Outputs.Count; k++)
            {
                if (node.Outputs[k].Length > 0)
                {
                    graph.Initializers[node.Outputs[k]] = results[k];
                    graph.ValueInfos.Remove(node.Outputs[k]);
                }
            }
            folded++;
        }
        return folded;
    }

    private static bool CanFold(Graph.Graph graph, Node node) =>
        !NonDeterministic.Contains(node.OpType)
        && node.Outputs.Count > 0
        && node.Outputs.All(o => o.Length == 0 || !GraphEdits.IsGraphOutput(graph, o))
        && node.Inputs.All(i => i.Length == 0 || graph.Initializers.ContainsKey(i))
        && !node.Attributes.Values.Any(a => a.Kind == AttributeKind.Graph);

    private static Tensor[]? Evaluate(Graph.Graph graph, Node node, OperatorContext context)
    {
        if (!OperatorRegistry.IsSupported(node))
        {
            return null;
        }
        try
        {
            var op = OperatorRegistry.Create(node, context);
            var inputs = node.Inputs.Select(i => i.Length == 0 ? null : graph.Initializers[i]).ToArray();
            var descs = inputs.Select(t => t is null ? null : TensorDesc.Of(t)).ToArray();
            var outDescs = op.InferOutputs(descs);
            if (outDescs.Length < node.Outputs.Count || outDescs.Any(d => d.Constant is null && ShapeUtil.Size(d.Shape) > MaxFoldedElements))
            {
                return null;
            }
            if (outDescs.Take(node.Outputs.Count).All(d => d.Constant is not null))
            {
                return outDescs.Select(d => d.Constant!).ToArray();
            }
            var outputs = outDescs.Select(d => d.Constant?.Clone() ?? Tensor.Zeros(d.Type, d.Shape)).ToArray();
            var scratch = new float[op.ScratchFloats(descs)];
            op.Run(inputs, outputs, new RunContext(1, scratch));
            return outputs;
        }
        catch (Exception e) when (e is InvalidModelException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            // The session will report the problem with its own message when it builds the node.
            return null;
        }
    }

    /// <summary>The value of an ONNX Constant node, from whichever value_* attribute it carries.</summary>
    private static Tensor[]? ConstantValue(Node node)
    {
        foreach (var (name, a) in node.Attributes)
        {
            Tensor? t = name switch
            {
                "value" => a.Tensor,
                "value_float" => Tensor.Scalar(a.Float),
                "value_floats" => Tensor.FromFloats([a.Floats.Length], (float[])a.Floats.Clone()),
                "value_int" => Tensor.Scalar(a.Int),
                "value_ints" => Tensor.FromLongs([a.Ints.Length], (long[])a.Ints.Clone()),
                _ => null,
            };
            if (t is not null)
            {
                return [t];
            }
        }
        return null;
    }
}
