using DSConvService.Core.Graph;

namespace DSConvService.Core.Passes;

/// <summary>Small structural edits the passes share.</summary>
internal static class GraphEdits
{
    /// <summary>Makes every node that reads <paramref name="from"/> read <paramref name="to"/> instead.</summary>
    public static void ReplaceUses(Graph.Graph graph, string from, string to)
    {
        foreach (var n in graph.Nodes)
        {
            for (var i = 0; i < n.Inputs.Count; i++)
            {
                if (n.Inputs[i] == from)
                {
                    n.Inputs[i] = to;
                }
            }
        }
    }

    /// <summary>Renames a value produced by a node: the producer's output and every reader.</summary>
    public static void RenameValue(Graph.Graph graph, string from, string to)
    {
        foreach (var n in graph.Nodes)
        {
            for (var i = 0; i < n.Outputs.Count; i++)
            {
                if (n.Outputs[i] == from)
                {
                    n.Outputs[i] = to;
                }
            }
        }
        ReplaceUses(graph, from, to);
        if (graph.ValueInfos.Remove(from, out var info))
        {
            graph.ValueInfos[to] = new ValueInfo(to, info.Type, info.Shape, info.DimNames);
        }
    }

    public static bool IsGraphOutput(Graph.Graph graph, string name) => graph.Outputs.Any(o => o.Name == name);

    public static bool IsGraphInput(Graph.Graph graph, string name) => graph.Inputs.Any(i => i.Name == name);

    /// <summary>Number of node inputs reading the value, plus one when it is a graph output.</summary>
    public static int UseCount(Graph.Graph graph, string name) =>
        graph.Nodes.Sum(n => n.Inputs.Count(i => i == name)) + (IsGraphOutput(graph, name) ? 1 : 0);

    /// <summary>True when an optional output is absent or nothing reads it.</summary>
    public static bool IsUnused(Graph.Graph graph, Node node, int output) =>
        output >= node.Outputs.Count || node.Outputs[output].Length == 0 || UseCount(graph, node.Outputs[output]) == 0;
}
