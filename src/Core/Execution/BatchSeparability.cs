using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution;

/// <summary>
/// Whether a graph computes each image of a batch from that image alone, so that a batch may run as its images,
/// each through its own plan (<see cref="InferenceSession"/>). Two conditions, both checked on shapes only:
/// every computed value has the batch as its first dimension (shapes inferred at batch 1 and 2 differ there and
/// nowhere else), and no node works across that dimension (an allow-list of operators, with the axes of those
/// that take axes). A graph that fails either runs its batches whole, as before.
/// </summary>
internal static class BatchSeparability
{
    // Operators that act on each element, or on each image's own channels and pixels, whatever their attributes.
    private static readonly HashSet<string> PerImage = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu", "And", "Or", "Xor", "Not", "Where",
        "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Cast", "Identity", "Dropout",
        "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Floor", "Ceil", "Sign", "Round", "Sin", "Cos", "Erf",
        "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Clip", "Elu", "Selu", "Softplus", "Softsign",
        "Mish", "Gelu", "ThresholdedRelu",
        "Conv", "DSConvConv", "BatchNormalization", "InstanceNormalization", "LRN", "MaxPool", "AveragePool",
        "GlobalAveragePool", "GlobalMaxPool", "DepthToSpace", "SpaceToDepth", "Resize", "BfpFakeQuant",
        // The shape check below decides these: their outputs keep the batch first or the graph is refused.
        "Reshape", "Expand", "MatMul", "Shape", "Constant", "ConstantOfShape", "Range",
    };

    /// <summary>Whether batches of <paramref name="inputShapes"/> (any first dimension) may run image by image.</summary>
    public static bool Holds(Graph.Graph graph, IReadOnlyList<Operator> ops, IReadOnlyList<int[]> inputShapes) =>
        Obstacle(graph, ops, inputShapes) is null;

    /// <summary>Why batches of <paramref name="inputShapes"/> must run whole, or null when they may run image by image.</summary>
    public static string? Obstacle(Graph.Graph graph, IReadOnlyList<Operator> ops, IReadOnlyList<int[]> inputShapes)
    {
        if (inputShapes.Count == 0 || inputShapes.Any(s => s.Length == 0))
        {
            return "an input has no batch dimension";
        }
        var one = Infer(graph, ops, inputShapes, 1);
        var two = Infer(graph, ops, inputShapes, 2);
        if (one is null || two is null)
        {
            return "the shapes do not fit at batch 1 or 2";
        }
        foreach (var output in graph.Outputs)
        {
            if (!one.TryGetValue(output.Name, out var d) || d.IsConstant)
            {
                return $"output '{output.Name}' does not depend on the input";
            }
        }
        foreach (var (name, d1) in one)
        {
            if (graph.Initializers.ContainsKey(name) || d1.IsConstant && two[name].IsConstant)
            {
                continue;
            }
            if (!BatchFirst(d1.Shape, two[name].Shape))
            {
                return $"value '{name}' has shape {ShapeUtil.Format(d1.Shape)} at batch 1 and {ShapeUtil.Format(two[name].Shape)} at batch 2";
            }
        }
        // A node whose outputs are known from shapes alone (shape arithmetic) runs at planning time, per plan.
        return graph.Nodes.FirstOrDefault(n => !n.Outputs.All(o => o.Length == 0 || one[o].IsConstant) && !NodeIsPerImage(n, one)) is { } node
            ? $"{node} may mix the images of a batch" : null;
    }

    private static bool BatchFirst(int[] one, int[] two) =>
        one.Length > 0 && one.Length == two.Length && one[0] == 1 && two[0] == 2 && one.AsSpan(1).SequenceEqual(two.AsSpan(1));

    private static Dictionary<string, TensorDesc>? Infer(Graph.Graph graph, IReadOnlyList<Operator> ops, IReadOnlyList<int[]> inputShapes, int batch)
    {
        var descs = new Dictionary<string, TensorDesc>(StringComparer.Ordinal);
        foreach (var (name, t) in graph.Initializers)
        {
            descs[name] = TensorDesc.Of(t);
        }
        var inputs = graph.RuntimeInputs.ToArray();
        if (inputs.Length != inputShapes.Count)
        {
            return null;
        }
        for (var i = 0; i < inputs.Length; i++)
        {
            var shape = (int[])inputShapes[i].Clone();
            shape[0] = batch;
            descs[inputs[i].Name] = new TensorDesc(inputs[i].Type == DataType.Undefined ? DataType.Float : inputs[i].Type, shape);
        }
        try
        {
            foreach (var op in ops)
            {
                var node = op.Node;
                var outs = op.InferOutputs(node.Inputs.Select(n => n.Length == 0 ? null : descs[n]).ToArray());
                for (var k = 0; k < node.Outputs.Count && k < outs.Length; k++)
                {
                    if (node.Outputs[k].Length > 0)
                    {
                        descs[node.Outputs[k]] = outs[k];
                    }
                }
            }
        }
        catch (Exception)
        {
            // Shapes that do not fit at batch 1 or 2 (a fixed batch somewhere), whatever an operator throws for them: this
            // only decides whether a faster form may run, so the batch runs whole and its own errors are reported there.
            return null;
        }
        return descs;
    }

    private static bool NodeIsPerImage(Node node, Dictionary<string, TensorDesc> descs)
    {
        if (PerImage.Contains(node.OpType))
        {
            return true;
        }
        var rank = node.Inputs.Count > 0 && descs.TryGetValue(node.Inputs[0], out var x) ? x.Shape.Length : 0;
        return node.OpType switch
        {
            "Gemm" or "DSConvGemm" => node.GetInt("transA", 0) == 0,
            "Softmax" or "LogSoftmax" => Axis(node.GetInt("axis", -1), rank) != 0,
            "Concat" or "Flatten" => Axis(node.GetInt("axis", 1), rank) != 0,
            "Split" or "Gather" or "ArgMax" or "ArgMin" => Axis(node.GetInt("axis", 0), rank) != 0,
            "Transpose" => node.GetInts("perm") is { Length: > 0 } perm && perm[0] == 0,
            "Unsqueeze" => Axes(node, descs, rank + (Axes(node, descs, 0)?.Length ?? 0)) is { } a && !a.Contains(0),
            "Squeeze" or "ReduceMean" or "ReduceSum" or "ReduceMax" or "ReduceMin" or "ReduceProd" or "ReduceSumSquare" or "ReduceL2" =>
                Axes(node, descs, rank) is { } a && !a.Contains(0),
            "Slice" => node.Inputs.Count > 3 && Constant(node.Inputs[3], descs) is { } s && !s.Select(v => Axis(v, rank)).Contains(0),
            "Pad" => node.Inputs.Count <= 3 && (node.GetInts("pads") ?? (node.Inputs.Count > 1 ? Constant(node.Inputs[1], descs) : null)) is { } p
                && p.Length == 2 * rank && p[0] == 0 && p[rank] == 0,
            "Tile" => node.Inputs.Count > 1 && Constant(node.Inputs[1], descs) is { Length: > 0 } r && r[0] == 1,
            _ => false,
        };
    }

    private static long Axis(long axis, int rank) => axis < 0 ? axis + rank : axis;

    // The axes of Squeeze, Unsqueeze and the reductions: an attribute (older opsets) or a constant second input.
    private static long[]? Axes(Node node, Dictionary<string, TensorDesc> descs, int rank)
    {
        var axes = node.GetInts("axes") ?? (node.Inputs.Count > 1 ? Constant(node.Inputs[1], descs) : null);
        return axes?.Select(a => Axis(a, rank)).ToArray();
    }

    private static long[]? Constant(string name, Dictionary<string, TensorDesc> descs) =>
        name.Length > 0 && descs.TryGetValue(name, out var d) && d.Constant is { } t && t.Data is long[] values ? values : null;
}
