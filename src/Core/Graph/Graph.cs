using DSConvService.Core.Tensors;

namespace DSConvService.Core.Graph;

/// <summary>
/// A computation graph: nodes in topological order, constant initializers, declared inputs and
/// outputs, and whatever intermediate value shapes are known.
/// </summary>
public sealed class Graph
{
    public string Name { get; set; } = "graph";
    public List<Node> Nodes { get; } = [];
    public Dictionary<string, Tensor> Initializers { get; } = new(StringComparer.Ordinal);
    public List<ValueInfo> Inputs { get; } = [];
    public List<ValueInfo> Outputs { get; } = [];
    public Dictionary<string, ValueInfo> ValueInfos { get; } = new(StringComparer.Ordinal);

    /// <summary>Graph inputs that are not initializers: what a caller must feed.</summary>
    public IEnumerable<ValueInfo> RuntimeInputs => Inputs.Where(i => !Initializers.ContainsKey(i.Name));

    /// <summary>Map from value name to the node producing it.</summary>
    public Dictionary<string, Node> Producers()
    {
        var map = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (var n in Nodes)
        {
            foreach (var o in n.Outputs.Where(o => o.Length > 0))
            {
                map[o] = n;
            }
        }
        return map;
    }

    /// <summary>Map from value name to the nodes reading it.</summary>
    public Dictionary<string, List<Node>> Consumers()
    {
        var map = new Dictionary<string, List<Node>>(StringComparer.Ordinal);
        foreach (var n in Nodes)
        {
            foreach (var i in n.Inputs.Where(i => i.Length > 0))
            {
                if (!map.TryGetValue(i, out var list))
                {
                    map[i] = list = [];
                }
                list.Add(n);
            }
        }
        return map;
    }

    /// <summary>Reorders <see cref="Nodes"/> topologically (stable); throws on cycles or dangling inputs.</summary>
    public void SortTopologically()
    {
        var available = new HashSet<string>(Initializers.Keys, StringComparer.Ordinal);
        foreach (var i in Inputs)
        {
            available.Add(i.Name);
        }
        var pending = new List<Node>(Nodes);
        var sorted = new List<Node>(Nodes.Count);
        while (pending.Count > 0)
        {
            var progressed = false;
            for (var k = 0; k < pending.Count; k++)
            {
                var n = pending[k];
                if (n.Inputs.All(i => i.Length == 0 || available.Contains(i)))
                {
                    sorted.Add(n);
                    foreach (var o in n.Outputs)
                    {
                        available.Add(o);
                    }
                    pending.RemoveAt(k);
                    k--;
                    progressed = true;
                }
            }
            if (!progressed)
            {
                var n = pending[0];
                var missing = n.Inputs.First(i => i.Length > 0 && !available.Contains(i));
                throw new InvalidModelException($"Node {n} reads '{missing}', which no node, input or initializer provides (or the graph has a cycle).");
            }
        }
        Nodes.Clear();
        Nodes.AddRange(sorted);
    }

    /// <summary>Removes nodes whose outputs nothing uses, and initializers nothing reads.</summary>
    public void RemoveUnused()
    {
        var needed = new HashSet<string>(Outputs.Select(o => o.Name), StringComparer.Ordinal);
        for (var k = Nodes.Count - 1; k >= 0; k--)
        {
            var n = Nodes[k];
            if (n.Outputs.Any(needed.Contains))
            {
                foreach (var i in n.Inputs.Where(i => i.Length > 0))
                {
                    needed.Add(i);
                }
            }
            else
            {
                Nodes.RemoveAt(k);
            }
        }
        foreach (var name in Initializers.Keys.Where(k => !needed.Contains(k)).ToList())
        {
            Initializers.Remove(name);
            Inputs.RemoveAll(i => i.Name == name);
        }
    }

    /// <summary>A name not used by any value yet, built from a prefix.</summary>
    public string UniqueName(string prefix)
    {
        var used = new HashSet<string>(Initializers.Keys, StringComparer.Ordinal);
        foreach (var n in Nodes)
        {
            used.UnionWith(n.Outputs);
            used.UnionWith(n.Inputs);
        }
        foreach (var i in Inputs)
        {
            used.Add(i.Name);
        }
        if (!used.Contains(prefix))
        {
            return prefix;
        }
        for (var k = 1; ; k++)
        {
            var candidate = $"{prefix}_{k}";
            if (!used.Contains(candidate))
            {
                return candidate;
            }
        }
    }
}
