namespace DSConvService.Core.Graph;

/// <summary>Deep copy of the graph structure; tensors are shared (they are treated as immutable).</summary>
public static class ModelCloner
{
    public static Model Clone(Model model)
    {
        var copy = new Model(CloneGraph(model.Graph))
        {
            IrVersion = model.IrVersion,
            ProducerName = model.ProducerName,
            ProducerVersion = model.ProducerVersion,
        };
        copy.Opsets.Clear();
        foreach (var (k, v) in model.Opsets)
        {
            copy.Opsets[k] = v;
        }
        foreach (var (k, v) in model.Metadata)
        {
            copy.Metadata[k] = v;
        }
        return copy;
    }

    public static Graph CloneGraph(Graph g)
    {
        var c = new Graph { Name = g.Name };
        foreach (var (k, v) in g.Initializers)
        {
            c.Initializers[k] = v;
        }
        c.Inputs.AddRange(g.Inputs.Select(CloneInfo));
        c.Outputs.AddRange(g.Outputs.Select(CloneInfo));
        foreach (var (k, v) in g.ValueInfos)
        {
            c.ValueInfos[k] = CloneInfo(v);
        }
        foreach (var n in g.Nodes)
        {
            var m = new Node(n.OpType, n.Inputs, n.Outputs, n.Name, n.Domain);
            foreach (var (k, v) in n.Attributes)
            {
                m.Attributes[k] = v;
            }
            c.Nodes.Add(m);
        }
        return c;
    }

    private static ValueInfo CloneInfo(ValueInfo v) =>
        new(v.Name, v.Type, v.Shape is null ? null : (int[])v.Shape.Clone(), v.DimNames is null ? null : (string?[])v.DimNames.Clone());
}
