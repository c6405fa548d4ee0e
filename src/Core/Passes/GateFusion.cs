using DSConvService.Core.Graph;

namespace DSConvService.Core.Passes;

/// <summary>
/// Folds a squeeze-and-excitation gate into the DSConv layer that reads the gated tensor: Mul(x, gate) →
/// DSConvConv(x, …, gate) with attribute fused_gate = 1 and the gate as input 8. The layer multiplies each value by its
/// channel's factor as it packs its BFP input, the same float product the Mul node made, so the bits do not change and
/// the gated tensor is never written out. Only where the gate is a squeeze: its producers, followed back through input 0,
/// are 1×1 unpadded convolutions and element-wise activations down to a GlobalAveragePool, so it is [N, C or 1, 1, 1].
/// The Mul's output must have that layer (as its input 0) as its single reader. Sessions only: the input is not ONNX.
/// </summary>
public static class GateFusion
{
    public const string Attribute = "fused_gate";
    public const int InputIndex = 8;

    private static readonly HashSet<string> Activations = new(StringComparer.Ordinal)
    {
        "Sigmoid", "HardSigmoid", "Relu", "Clip", "LeakyRelu", "HardSwish", "Tanh",
    };

    public static int Run(Model model)
    {
        var graph = model.Graph;
        var fused = 0;
        foreach (var mul in graph.Nodes.ToList())
        {
            if (mul.Domain is not ("" or "ai.onnx") || mul.OpType != "Mul" || mul.Inputs.Count != 2 || mul.Outputs.Count != 1
                || mul.Input(0) is not { } a || mul.Input(1) is not { } b || a == b)
            {
                continue;
            }
            var y = mul.Outputs[0];
            var consumer = graph.Nodes.FirstOrDefault(n => n.Inputs.Contains(y));
            if (consumer is null || GraphEdits.UseCount(graph, y) != 1 || consumer.Domain != "ai.dsconv" || consumer.OpType != "DSConvConv"
                || consumer.Inputs[0] != y || consumer.Attributes.ContainsKey(Attribute) || consumer.Inputs.Count > InputIndex)
            {
                continue;
            }
            foreach (var (x, gate) in new[] { (a, b), (b, a) })
            {
                if (graph.Initializers.ContainsKey(x) || !IsSqueeze(graph, gate))
                {
                    continue;
                }
                consumer.Inputs[0] = x;
                while (consumer.Inputs.Count < InputIndex)
                {
                    consumer.Inputs.Add("");
                }
                consumer.Inputs.Add(gate);
                consumer.Attributes[Attribute] = AttributeValue.Of(1L);
                graph.Nodes.Remove(mul);
                graph.ValueInfos.Remove(y);
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

    /// <summary>Whether <paramref name="value"/> is computed from a GlobalAveragePool through 1×1-preserving nodes only.</summary>
    private static bool IsSqueeze(Graph.Graph graph, string value)
    {
        for (var step = 0; step < 8; step++)
        {
            if (graph.Initializers.ContainsKey(value))
            {
                return false;
            }
            var node = graph.Nodes.FirstOrDefault(n => n.Outputs.Count > 0 && n.Outputs[0] == value);
            if (node is null || node.Input(0) is not { } input)
            {
                return false;
            }
            if (node.OpType == "GlobalAveragePool" && node.Domain is "" or "ai.onnx")
            {
                return true;
            }
            var keepsOnePixel = node.OpType switch
            {
                "Conv" or "DSConvConv" => IsUnpadded1x1(graph, node),
                var op => Activations.Contains(op) && node.Domain is "" or "ai.onnx",
            };
            if (!keepsOnePixel)
            {
                return false;
            }
            value = input;
        }
        return false;
    }

    private static bool IsUnpadded1x1(Graph.Graph graph, Node conv)
    {
        if (conv.Input(1) is not { } w || !graph.Initializers.TryGetValue(w, out var weight) || weight.Rank != 4
            || weight.Shape[2] != 1 || weight.Shape[3] != 1)
        {
            return false;
        }
        var autoPad = conv.GetString("auto_pad", "NOTSET");
        return autoPad is "NOTSET" or "VALID" && (conv.GetInts("pads") ?? []).All(p => p == 0);
    }
}
