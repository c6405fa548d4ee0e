using DSConvService.Core.Graph;

namespace DSConvService.Core.Passes;

/// <summary>
/// Folds a self-gate y = Mul(x, Sigmoid(x)) (SiLU / Swish) or y = Mul(x, HardSigmoid(x)) (HardSwish with
/// the HardSigmoid's α and β) into the Conv/Gemm or DSConvConv/DSConvGemm that produces x, when the gate and the Mul are the
/// only readers of x and the Mul the only reader of the gate: three passes over the tensor become none.
/// Sessions only, like <see cref="ActivationFusion"/>.
/// </summary>
public static class GatedActivationFusion
{
    public static int Run(Model model)
    {
        var graph = model.Graph;
        var producers = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (var n in graph.Nodes)
        {
            foreach (var o in n.Outputs)
            {
                producers[o] = n;
            }
        }
        var fused = 0;
        foreach (var mul in graph.Nodes.ToList())
        {
            if (mul.OpType != "Mul" || mul.Domain is not ("" or "ai.onnx") || mul.Inputs.Count != 2 || mul.Outputs.Count != 1)
            {
                continue;
            }
            for (var side = 0; side < 2; side++)
            {
                var x = mul.Inputs[side];
                var gateValue = mul.Inputs[1 - side];
                if (!producers.TryGetValue(gateValue, out var gate) || gate.Domain is not ("" or "ai.onnx")
                    || gate.OpType is not ("Sigmoid" or "HardSigmoid") || gate.Input(0) != x
                    || !producers.TryGetValue(x, out var producer) || !ActivationFusion.CanCarryActivation(producer)
                    || GraphEdits.UseCount(graph, x) != 2 || GraphEdits.UseCount(graph, gateValue) != 1)
                {
                    continue;
                }
                if (gate.OpType == "Sigmoid")
                {
                    producer.Attributes[ActivationFusion.ActivationAttribute] = AttributeValue.Of("Silu");
                }
                else
                {
                    producer.Attributes[ActivationFusion.ActivationAttribute] = AttributeValue.Of("HardSwish");
                    producer.Attributes[ActivationFusion.AlphaAttribute] = AttributeValue.Of(gate.GetFloat("alpha", 0.2f));
                    producer.Attributes[ActivationFusion.BetaAttribute] = AttributeValue.Of(gate.GetFloat("beta", 0.5f));
                }
                graph.Nodes.Remove(gate);
                graph.Nodes.Remove(mul);
                producer.Outputs[0] = mul.Outputs[0];
                producers[mul.Outputs[0]] = producer;
                graph.ValueInfos.Remove(x);
                graph.ValueInfos.Remove(gateValue);
                fused++;
                break;
            }
        }
        return fused;
    }
}
