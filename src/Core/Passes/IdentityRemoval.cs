using DSConvService.Core.Graph;

namespace DSConvService.Core.Passes;

/// <summary>
/// Removes Identity nodes and inference-mode Dropout nodes by wiring their readers to their input.
/// Graph output names never change: when the removed node's output is a graph output, the value
/// feeding it is renamed instead (or the node is kept when that value is itself a graph input,
/// initializer or output).
/// </summary>
public static class IdentityRemoval
{
    public static int Run(Model model)
    {
        var graph = model.Graph;
        var removed = 0;
        foreach (var node in graph.Nodes.ToList())
        {
            if (!IsPassThrough(graph, node))
            {
                continue;
            }
            var source = node.Inputs[0];
            var result = node.Outputs[0];
            if (!GraphEdits.IsGraphOutput(graph, result))
            {
                graph.Nodes.Remove(node);
                GraphEdits.ReplaceUses(graph, result, source);
                removed++;
            }
            else if (!GraphEdits.IsGraphInput(graph, source) && !graph.Initializers.ContainsKey(source)
                     && !GraphEdits.IsGraphOutput(graph, source))
            {
                graph.Nodes.Remove(node);
                GraphEdits.RenameValue(graph, source, result);
                removed++;
            }
        }
        return removed;
    }

    private static bool IsPassThrough(Graph.Graph graph, Node node)
    {
        if (node.Domain is not ("" or "ai.onnx") || node.Input(0) is null || node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
        {
            return false;
        }
        return node.OpType switch
        {
            "Identity" => true,
            // Dropout is the identity at inference unless training_mode is set; its mask must be unused.
            "Dropout" => GraphEdits.IsUnused(graph, node, 1) && !TrainingMode(graph, node),
            _ => false,
        };
    }

    private static bool TrainingMode(Graph.Graph graph, Node node)
    {
        if (node.Input(2) is not { } mode)
        {
            return false;
        }
        return !graph.Initializers.TryGetValue(mode, out var t) || t.ToLongs().Any(v => v != 0);
    }
}
