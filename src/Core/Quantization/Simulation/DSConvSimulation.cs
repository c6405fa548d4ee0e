using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Simulation;

/// <summary>
/// The simulated quantized network: every DSConv node becomes a float Conv/Gemm with the
/// dequantized weight ŵ, preceded (when activations are simulated) by a BfpFakeQuant node.
/// The exactness contract of DESIGN 2.3 compares the integer kernels against this graph.
/// </summary>
public static class DSConvSimulation
{
    public const string Domain = "ai.dsconv.sim";
    public const string BfpFakeQuant = "BfpFakeQuant";

    public static Model ToFloatGraph(Model quantized, bool simulateActivations)
    {
        var model = ModelCloner.Clone(quantized);
        var g = model.Graph;
        var nodes = new List<Node>(g.Nodes.Count);
        var usesSim = false;
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in g.Nodes)
        {
            if (!DSConvNodes.IsDSConv(node))
            {
                nodes.Add(node);
                continue;
            }
            var fc = node.OpType == DSConvNodes.Gemm;
            var qShape = g.Initializers[node.Inputs[DSConvNodes.InputQ]].Shape;
            var wName = g.UniqueName(node.DisplayName + "_w_hat");
            // Dequantized when first read (a session reads it when it packs the layer; a streamed one for the layer alone),
            // so a float graph of a big model does not hold every layer's ŵ (as large as the fp32 weights) at once.
            var source = node;
            g.Initializers[wName] = Tensor.Deferred(DataType.Float, (int[])qShape.Clone(), () => DSConvNodes.ReadWeight(quantized, source).Effective());

            var x = node.Inputs[DSConvNodes.InputX];
            var settings = DSConvSettings.FromNode(node);
            var activationBits = settings.ActivationBits;
            var groups = fc ? 1 : node.GetInt("group", 1);
            var key = $"{x}|{groups}|{settings.BlockSize}|{activationBits}|{settings.ExponentBits}";
            if (simulateActivations && activationBits > 0 && shared.TryGetValue(key, out var existing))
            {
                x = existing;
            }
            else if (simulateActivations && activationBits > 0)
            {
                // One fake-quant per distinct (input, settings): layers reading the same tensor share it.
                var xq = g.UniqueName(x + "_bfp");
                shared[key] = xq;
                var bfp = new Node(BfpFakeQuant, [x], [xq], node.DisplayName + "_bfp", Domain);
                bfp.Attributes["group"] = AttributeValue.Of(groups);
                bfp.Attributes["channels"] = AttributeValue.Of((long)(fc ? qShape[1] : qShape[1] * groups));
                bfp.Attributes[DSConvSettings.BlockSizeAttribute] = AttributeValue.Of((long)settings.BlockSize);
                bfp.Attributes["mantissa_bits"] = AttributeValue.Of((long)activationBits);
                bfp.Attributes[DSConvSettings.ExponentBitsAttribute] = AttributeValue.Of((long)settings.ExponentBits);
                nodes.Add(bfp);
                usesSim = true;
                x = xq;
            }
            var inputs = new List<string> { x, wName };
            if (node.Input(DSConvNodes.InputBias) is { } bias)
            {
                inputs.Add(bias);
            }
            var fused = node.GetString("fused_activation", "");
            var output = node.Outputs[0];
            var target = fused.Length > 0 ? g.UniqueName(output + "_linear") : output;
            var op = new Node(fc ? "Gemm" : "Conv", inputs, [target], node.Name);
            if (fc)
            {
                op.Attributes["transB"] = AttributeValue.Of(1L);
            }
            else
            {
                foreach (var a in DSConvNodes.ConvAttributes)
                {
                    if (node.Attributes.TryGetValue(a, out var v))
                    {
                        op.Attributes[a] = v;
                    }
                }
            }
            nodes.Add(op);
            if (fused.Length > 0)
            {
                nodes.Add(FusedActivation(node, fused, target, output, g));
            }
        }
        g.Nodes.Clear();
        g.Nodes.AddRange(nodes);
        g.RemoveUnused();
        model.Opsets.Remove(DSConvNodes.Domain);
        if (usesSim)
        {
            model.Opsets[Domain] = 1;
        }
        return model;
    }

    private static Node FusedActivation(Node node, string kind, string input, string output, Graph.Graph g)
    {
        switch (kind)
        {
            case "Relu":
                return new Node("Relu", [input], [output], node.DisplayName + "_relu");
            case "LeakyRelu":
            {
                var n = new Node("LeakyRelu", [input], [output], node.DisplayName + "_leaky");
                n.Attributes["alpha"] = AttributeValue.Of(node.GetFloat("fused_alpha", 0.01f));
                return n;
            }
            case "Clip":
            {
                var lo = g.UniqueName(node.DisplayName + "_clip_min");
                g.Initializers[lo] = Tensor.Scalar(node.GetFloat("fused_min", float.MinValue));
                var hi = g.UniqueName(node.DisplayName + "_clip_max");
                g.Initializers[hi] = Tensor.Scalar(node.GetFloat("fused_max", float.MaxValue));
                return new Node("Clip", [input, lo, hi], [output], node.DisplayName + "_clip");
            }
            default:
                throw new InvalidModelException($"{node}: unknown fused activation '{kind}'.");
        }
    }
}
