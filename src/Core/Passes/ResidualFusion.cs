using DSConvService.Core.Graph;

namespace DSConvService.Core.Passes;

/// <summary>
/// Turns Add(DSConvConv(x), skip) into DSConvConv(x, ..., skip) with attribute fused_residual = 1 and the skip
/// as input 7, added in the conv's epilogue (before a fused activation, which <see cref="ActivationFusion"/>
/// can then fold in: the ResNet "Add → Relu" becomes part of the conv). This saves a full read and write of
/// the block output. Only when the conv output has the Add as its single reader, the conv carries no fused
/// activation yet, and the skip is a run-time value whose shape, when known, equals the conv output's
/// (the operator checks the shapes again at plan time). Sessions only: the input is not ONNX.
/// </summary>
public static class ResidualFusion
{
    public const string Attribute = "fused_residual";
    public const int InputIndex = 7;

    public static int Run(Model model)
    {
        var graph = model.Graph;
        var fused = 0;
        foreach (var add in graph.Nodes.ToList())
        {
            if (add.Domain is not ("" or "ai.onnx") || add.OpType != "Add" || add.Inputs.Count != 2 || add.Outputs.Count != 1
                || add.Input(0) is not { } a || add.Input(1) is not { } b || a == b)
            {
                continue;
            }
            foreach (var (convOut, skip) in new[] { (a, b), (b, a) })
            {
                var conv = graph.Nodes.FirstOrDefault(n => n.Outputs.Count > 0 && n.Outputs[0] == convOut);
                if (conv is null || !CanCarryResidual(conv) || GraphEdits.UseCount(graph, convOut) != 1
                    || graph.Initializers.ContainsKey(skip) || !ShapesMayMatch(graph, convOut, skip))
                {
                    continue;
                }
                while (conv.Inputs.Count < InputIndex)
                {
                    conv.Inputs.Add("");
                }
                conv.Inputs.Add(skip);
                conv.Attributes[Attribute] = AttributeValue.Of(1L);
                conv.Outputs[0] = add.Outputs[0];
                graph.Nodes.Remove(add);
                graph.ValueInfos.Remove(convOut);
                fused++;
                break;
            }
        }
        if (fused > 0)
        {
            graph.SortTopologically();
        }
        return fused;
    }

    private static bool CanCarryResidual(Node node) =>
        node.Domain == "ai.dsconv" && node.OpType == "DSConvConv" && node.Outputs.Count == 1 && node.Inputs.Count <= InputIndex
        && !node.Attributes.ContainsKey(Attribute) && !node.Attributes.ContainsKey(ActivationFusion.ActivationAttribute);

    /// <summary>False only when both shapes are recorded, fully known and different (a broadcasting Add).</summary>
    private static bool ShapesMayMatch(Graph.Graph graph, string x, string y)
    {
        if (!graph.ValueInfos.TryGetValue(x, out var vx) || !graph.ValueInfos.TryGetValue(y, out var vy) || vx.Shape is null || vy.Shape is null)
        {
            return true;
        }
        if (vx.Shape.Length != vy.Shape.Length)
        {
            return false;
        }
        for (var i = 0; i < vx.Shape.Length; i++)
        {
            if (vx.Shape[i] >= 0 && vy.Shape[i] >= 0 && vx.Shape[i] != vy.Shape[i])
            {
                return false;
            }
        }
        return true;
    }
}
