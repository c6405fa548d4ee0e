using DSConvService.Core.Graph;

namespace DSConvService.Core.Passes;

/// <summary>
/// Folds a Relu, Clip (constant bounds) or LeakyRelu that is the only reader of a Conv/Gemm (or
/// DSConvConv/DSConvGemm) output into that node, as the attributes fused_activation, fused_min,
/// fused_max, fused_alpha and fused_beta; Sigmoid, HardSigmoid and HardSwish too (the float and the DSConv
/// epilogues implement every kind of <see cref="Kernels.Gemm.ActivationKind"/>). Sessions only: these attributes are not ONNX and are never saved.
/// </summary>
public static class ActivationFusion
{
    public const string ActivationAttribute = "fused_activation";
    public const string MinAttribute = "fused_min";
    public const string MaxAttribute = "fused_max";
    public const string AlphaAttribute = "fused_alpha";
    public const string BetaAttribute = "fused_beta";

    public static int Run(Model model)
    {
        var graph = model.Graph;
        var fused = 0;
        foreach (var act in graph.Nodes.ToList())
        {
            if (act.Domain is not ("" or "ai.onnx") || act.Input(0) is not { } x || act.Outputs.Count != 1)
            {
                continue;
            }
            var producer = graph.Nodes.FirstOrDefault(n => n.Outputs.Count > 0 && n.Outputs[0] == x);
            if (producer is null || !CanCarryActivation(producer) || GraphEdits.UseCount(graph, x) != 1
                || Describe(graph, act) is not { } attributes)
            {
                continue;
            }
            foreach (var (name, value) in attributes)
            {
                producer.Attributes[name] = value;
            }
            graph.Nodes.Remove(act);
            producer.Outputs[0] = act.Outputs[0];
            graph.ValueInfos.Remove(x);
            fused++;
        }
        return fused;
    }

    internal static bool CanCarryActivation(Node node) =>
        !node.Attributes.ContainsKey(ActivationAttribute) && node.Outputs.Count == 1 && (node.Domain, node.OpType) switch
        {
            ("" or "ai.onnx", "Conv" or "Gemm") => true,
            ("ai.dsconv", "DSConvConv" or "DSConvGemm") => true,
            _ => false,
        };

    /// <summary>The fused_* attributes equivalent to the activation node, or null when it cannot be fused.</summary>
    private static Dictionary<string, AttributeValue>? Describe(Graph.Graph graph, Node act)
    {
        switch (act.OpType)
        {
            case "Relu":
                return new() { [ActivationAttribute] = AttributeValue.Of("Relu") };
            case "LeakyRelu":
                return new()
                {
                    [ActivationAttribute] = AttributeValue.Of("LeakyRelu"),
                    [AlphaAttribute] = AttributeValue.Of(act.GetFloat("alpha", 0.01f)),
                };
            case "Sigmoid":
                return new() { [ActivationAttribute] = AttributeValue.Of("Sigmoid") };
            case "HardSigmoid":
                return new()
                {
                    [ActivationAttribute] = AttributeValue.Of("HardSigmoid"),
                    [AlphaAttribute] = AttributeValue.Of(act.GetFloat("alpha", 0.2f)),
                    [BetaAttribute] = AttributeValue.Of(act.GetFloat("beta", 0.5f)),
                };
            case "HardSwish":
                return new()
                {
                    [ActivationAttribute] = AttributeValue.Of("HardSwish"),
                    [AlphaAttribute] = AttributeValue.Of(1f / 6f),
                    [BetaAttribute] = AttributeValue.Of(0.5f),
                };
            case "Clip":
                var min = Bound(graph, act, 1, "min", float.NegativeInfinity);
                var max = Bound(graph, act, 2, "max", float.PositiveInfinity);
                if (min is null || max is null)
                {
                    return null;
                }
                return new()
                {
                    [ActivationAttribute] = AttributeValue.Of("Clip"),
                    [MinAttribute] = AttributeValue.Of(min.Value),
                    [MaxAttribute] = AttributeValue.Of(max.Value),
                };
            default:
                return null;
        }
    }

    /// <summary>A Clip bound from its input (opset 11+) or attribute (older); null when it is computed at run time.</summary>
    private static float? Bound(Graph.Graph graph, Node clip, int input, string attribute, float unbounded)
    {
        if (clip.Input(input) is { } name)
        {
            return graph.Initializers.TryGetValue(name, out var t) && t.Length == 1 ? t.ToFloats()[0] : null;
        }
        return clip.Attributes.TryGetValue(attribute, out var a) ? a.Float : unbounded;
    }
}
