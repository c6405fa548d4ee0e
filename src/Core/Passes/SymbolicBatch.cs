using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Passes;

/// <summary>
/// Makes dimension 0 (the batch) of a model symbolic, so a file exported with a fixed batch of 1 runs any
/// batch size in this engine and in ONNX Runtime.
/// </summary>
public static class SymbolicBatch
{
    /// <summary>The dimension name written for the batch.</summary>
    public const string DimName = "N";

    /// <summary>
    /// Sets dimension 0 of every runtime input and output to symbolic "N", clears the intermediate value infos
    /// (they would still state the old batch), and turns a leading 1 of every constant Reshape target into 0
    /// ("keep dimension 0 of the input"; exporters write the traced batch there, e.g. in a channel shuffle).
    /// At batch 1 the graph computes exactly what it did. Changes <paramref name="model"/> and returns it.
    /// </summary>
    public static Model Apply(Model model)
    {
        var graph = model.Graph;
        var fixedBatch = FixedBatch(model);
        foreach (var v in graph.Inputs.Concat(graph.Outputs))
        {
            if (v.Shape is { Length: > 0 } shape && !graph.Initializers.ContainsKey(v.Name))
            {
                shape[0] = -1;
                v.DimNames ??= new string?[shape.Length];
                v.DimNames[0] = DimName;
            }
        }
        graph.ValueInfos.Clear();
        if (fixedBatch == 1)
        {
            KeepBatchInReshapes(graph);
        }
        return model;
    }

    /// <summary>The fixed batch of the first runtime input, or null when it is symbolic or unknown.</summary>
    public static int? FixedBatch(Model model) =>
        model.Graph.RuntimeInputs.FirstOrDefault()?.Shape is { Length: > 0 } s && s[0] > 0 ? s[0] : null;

    private static void KeepBatchInReshapes(Graph.Graph graph)
    {
        var constants = graph.Nodes.Where(n => n.OpType == "Constant" && n.Domain is "" or "ai.onnx")
            .ToDictionary(n => n.Outputs[0], StringComparer.Ordinal);
        var consumers = graph.Consumers();
        foreach (var reshape in graph.Nodes.Where(n => n.OpType == "Reshape" && n.Domain is "" or "ai.onnx" && n.GetInt("allowzero", 0) == 0))
        {
            if (reshape.Input(1) is not { } name || consumers[name].Count != 1)
            {
                continue;
            }
            if (graph.Initializers.TryGetValue(name, out var t) && Rewritten(t) is { } r)
            {
                graph.Initializers[name] = r;
            }
            else if (constants.TryGetValue(name, out var c) && c.Attributes.TryGetValue("value", out var a) && a.Tensor is { } ct
                     && Rewritten(ct) is { } rc)
            {
                c.Attributes["value"] = AttributeValue.Of(rc);
            }
        }
    }

    /// <summary>The shape with its leading 1 replaced by 0, or null when it does not start with 1.</summary>
    private static Tensor? Rewritten(Tensor shape)
    {
        if (shape.Type != DataType.Int64 || shape.Rank != 1 || shape.Length < 2 || shape.Longs[0] != 1)
        {
            return null;
        }
        var v = (long[])shape.Longs.Clone();
        v[0] = 0;
        return Tensor.FromLongs([v.Length], v);
    }
}
