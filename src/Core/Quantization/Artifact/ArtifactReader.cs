using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Artifact;

/// <summary>Recognises the DequantizeLinear → Conv/Gemm pattern that <see cref="DSConvArtifact"/> writes and turns it back into DSConv nodes.</summary>
internal static class ArtifactReader
{
    public static void RebuildDSConvNodes(Model model, ArtifactMetadata meta)
    {
        var g = model.Graph;
        var producers = g.Producers();
        var found = false;
        for (var i = 0; i < g.Nodes.Count; i++)
        {
            var n = g.Nodes[i];
            if (n.Domain is not ("" or "ai.onnx") || n.OpType is not ("Conv" or "Gemm") || n.Input(1) is not { } w)
            {
                continue;
            }
            var pattern = Match(g, producers, w);
            if (pattern is null)
            {
                continue;
            }
            var fc = n.OpType == "Gemm";
            if (fc && (n.GetInt("transB", 0) != 1 || n.GetInt("transA", 0) != 0 || n.GetFloat("alpha", 1f) != 1f || n.GetFloat("beta", 1f) != 1f))
            {
                continue;
            }
            g.Nodes[i] = Build(g, n, pattern, meta, fc);
            found = true;
        }
        if (found)
        {
            g.RemoveUnused();
            model.Opsets[DSConvNodes.Domain] = 1;
        }
    }

    private sealed record Pattern(string Q, Tensor Kds, bool Depthwise, long BlockSize, Tensor? KdsBias, Tensor? CdsScale, Tensor? CdsBias);

    private static Pattern? Match(Graph.Graph g, Dictionary<string, Node> producers, string w)
    {
        Tensor? cdsScale = null, cdsBias = null, kdsBias = null;
        var p = producers.GetValueOrDefault(w);
        // CDS: Add(Mul(ŵ, scale), bias) with both constants.
        if (p is { OpType: "Add" } && Constant(g, p, out var biasIdx) is { } c && producers.GetValueOrDefault(p.Inputs[1 - biasIdx]) is { OpType: "Mul" } mul
            && Constant(g, mul, out var scaleIdx) is { } s)
        {
            cdsBias = c;
            cdsScale = s;
            p = producers.GetValueOrDefault(mul.Inputs[1 - scaleIdx]);
        }
        // KDS bias: Add(DequantizeLinear(...), expanded β).
        if (p is { OpType: "Add" })
        {
            var dqSide = p.Inputs.FindIndex(x => producers.GetValueOrDefault(x) is { OpType: "DequantizeLinear" });
            if (dqSide < 0 || p.Inputs.Count != 2)
            {
                return null;
            }
            kdsBias = Root(g, producers, p.Inputs[1 - dqSide]);
            if (kdsBias is null)
            {
                return null;
            }
            p = producers[p.Inputs[dqSide]];
        }
        if (p is not { OpType: "DequantizeLinear" } || p.Inputs.Count > 2 && p.Input(2) is not null)
        {
            return null;
        }
        if (!g.Initializers.TryGetValue(p.Inputs[0], out var q) || q.Type is not (DataType.Int4 or DataType.Int8))
        {
            return null;
        }
        var kds = g.Initializers.GetValueOrDefault(p.Inputs[1]);
        if (kds is null && producers.GetValueOrDefault(p.Inputs[1]) is { OpType: "Cast" } cast)
        {
            kds = g.Initializers.GetValueOrDefault(cast.Inputs[0]);
        }
        if (kds is null || !kds.Type.IsFloat())
        {
            return null;
        }
        var axis = p.GetInt("axis", 1);
        var depthwise = axis == 0 && kds.Rank == 1;
        if (!depthwise && (axis != 1 || !p.Attributes.ContainsKey("block_size")))
        {
            return null;
        }
        return new Pattern(p.Inputs[0], kds, depthwise, p.GetInt("block_size", 0), kdsBias, cdsScale, cdsBias);
    }

    // The constant input of a binary node (index of it in inputs), or null.
    private static Tensor? Constant(Graph.Graph g, Node n, out int index)
    {
        index = n.Inputs.FindIndex(g.Initializers.ContainsKey);
        return index >= 0 && n.Inputs.Count == 2 ? g.Initializers[n.Inputs[index]] : null;
    }

    // Follows Expand / Reshape / Slice / Unsqueeze back to the constant they shape.
    private static Tensor? Root(Graph.Graph g, Dictionary<string, Node> producers, string value)
    {
        for (var k = 0; k < 8; k++)
        {
            if (g.Initializers.TryGetValue(value, out var t))
            {
                return t;
            }
            if (producers.GetValueOrDefault(value) is not { OpType: "Expand" or "Reshape" or "Slice" or "Unsqueeze" } n)
            {
                return null;
            }
            value = n.Inputs[0];
        }
        return null;
    }

    private static Node Build(Graph.Graph g, Node op, Pattern p, ArtifactMetadata meta, bool fc)
    {
        var name = op.DisplayName;
        var settings = meta.For(name);
        var q = g.Initializers[p.Q];
        var o = q.Shape[0];
        // The DequantizeLinear's block_size is the one the weights were cut with (depthwise has none).
        settings = p.Depthwise ? settings : settings with { BlockSize = (int)p.BlockSize };
        var nb = settings.BlocksPerFilter(q.Shape[1], p.Depthwise);
        int[] kdsShape = fc ? [o, nb] : p.Depthwise ? [o, 1, 1, 1] : [o, nb, q.Shape[2], q.Shape[3]];
        string Add(string suffix, float[] data, int[] shape)
        {
            var n = g.UniqueName($"{name}_{suffix}");
            g.Initializers[n] = Tensor.FromFloats(shape, (float[])data.Clone());
            return n;
        }
        var inputs = new List<string> { op.Inputs[0], p.Q, Add("kds", p.Kds.ToFloats(), kdsShape), op.Input(2) ?? "" };
        inputs.Add(p.KdsBias is null ? "" : Add("kds_bias", p.KdsBias.ToFloats(), kdsShape));
        inputs.Add(p.CdsScale is null ? "" : Add("cds_scale", p.CdsScale.ToFloats(), [o]));
        inputs.Add(p.CdsBias is null ? "" : Add("cds_bias", p.CdsBias.ToFloats(), [o]));
        while (inputs[^1].Length == 0)
        {
            inputs.RemoveAt(inputs.Count - 1);
        }
        var node = new Node(fc ? DSConvNodes.Gemm : DSConvNodes.Conv, inputs, op.Outputs, op.Name, DSConvNodes.Domain);
        if (!fc)
        {
            node.Attributes["group"] = AttributeValue.Of(op.GetInt("group", 1));
            node.Attributes["kernel_shape"] = AttributeValue.Of(new long[] { q.Shape[2], q.Shape[3] });
            node.Attributes["strides"] = AttributeValue.Of(op.GetInts("strides") ?? [1, 1]);
            node.Attributes["dilations"] = AttributeValue.Of(op.GetInts("dilations") ?? [1, 1]);
            node.Attributes["pads"] = AttributeValue.Of(op.GetInts("pads") ?? [0, 0, 0, 0]);
        }
        settings.WriteTo(node);
        if (!fc)
        {
            DSConvSettings.WriteDepthwise(node, p.Depthwise);
        }
        return node;
    }
}
