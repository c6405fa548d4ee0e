using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Passes;

/// <summary>
/// Folds an inference BatchNormalization into the Conv or Gemm feeding it, when that layer's
/// output has no other reader: with s = γ/√(σ²+ε) per output channel, W' = W·s and
/// b' = (b − μ)·s + β (computed in double). New initializers are created; shared weights are not touched.
/// </summary>
public static class BatchNormFolding
{
    public static int Run(Model model)
    {
        var graph = model.Graph;
        var folded = 0;
        foreach (var bn in graph.Nodes.ToList())
        {
            if (bn.OpType != "BatchNormalization" || bn.Domain is not ("" or "ai.onnx") || bn.Input(0) is not { } x)
            {
                continue;
            }
            var producer = graph.Nodes.FirstOrDefault(n => n.Outputs.Count > 0 && n.Outputs[0] == x);
            // A fused activation would sit between the layer and the BN: folding would then be wrong.
            if (producer is null || producer.Domain is not ("" or "ai.onnx") || GraphEdits.UseCount(graph, x) != 1
                || producer.Attributes.ContainsKey(ActivationFusion.ActivationAttribute)
                || !Enumerable.Range(1, Math.Max(0, bn.Outputs.Count - 1)).All(k => GraphEdits.IsUnused(graph, bn, k))
                || bn.GetInt("training_mode", 0) != 0 || Parameters(graph, bn) is not { } p)
            {
                continue;
            }
            var done = producer.OpType switch
            {
                "Conv" => FoldIntoConv(graph, producer, p),
                "Gemm" => FoldIntoGemm(graph, producer, p),
                _ => false,
            };
            if (done)
            {
                graph.Nodes.Remove(bn);
                producer.Outputs[0] = bn.Outputs[0];
                graph.ValueInfos.Remove(x);
                folded++;
            }
        }
        return folded;
    }

    /// <summary>Per-channel scale s and shift t so that BN(y) = y·s + t.</summary>
    private sealed record Affine(double[] Scale, double[] Shift);

    private static Affine? Parameters(Graph.Graph graph, Node bn)
    {
        var tensors = new Tensor[4];
        for (var k = 0; k < 4; k++)
        {
            if (bn.Input(k + 1) is not { } name || !graph.Initializers.TryGetValue(name, out var t) || !t.Type.IsFloat() || t.Rank != 1)
            {
                return null;
            }
            tensors[k] = t;
        }
        var c = tensors[0].Length;
        if (tensors.Any(t => t.Length != c))
        {
            return null;
        }
        var (gamma, beta, mean, variance) = (tensors[0].Floats, tensors[1].Floats, tensors[2].Floats, tensors[3].Floats);
        double eps = bn.GetFloat("epsilon", 1e-5f);
        var scale = new double[c];
        var shift = new double[c];
        for (var i = 0; i < c; i++)
        {
            scale[i] = gamma[i] / Math.Sqrt(variance[i] + eps);
            shift[i] = beta[i] - mean[i] * scale[i];
        }
        return new Affine(scale, shift);
    }

    private static bool FoldIntoConv(Graph.Graph graph, Node conv, Affine p)
    {
        if (conv.Input(1) is not { } wName || !graph.Initializers.TryGetValue(wName, out var w) || w.Type != DataType.Float
            || w.Rank < 3 || w.Shape[0] != p.Scale.Length)
        {
            return false;
        }
        var bias = conv.Input(2) is { } bName ? graph.Initializers.GetValueOrDefault(bName) : null;
        if (conv.Input(2) is not null && (bias is null || bias.Type != DataType.Float || bias.Length != p.Scale.Length))
        {
            return false;
        }
        var outChannels = w.Shape[0];
        var folded = Folded(w, () =>
        {
            var perChannel = w.Length / outChannels;
            var src = w.ToFloatsUncached(); // read from the file again if w is deferred: the folded tensor must not keep the unfolded one loaded
            var weights = new float[w.Length];
            for (var o = 0; o < outChannels; o++)
            {
                for (var i = o * perChannel; i < (o + 1) * perChannel; i++)
                {
                    weights[i] = (float)(src[i] * p.Scale[o]);
                }
            }
            return weights;
        });
        var newBias = new float[outChannels];
        for (var o = 0; o < outChannels; o++)
        {
            newBias[o] = (float)((bias?.Floats[o] ?? 0) * p.Scale[o] + p.Shift[o]);
        }
        SetInput(conv, 1, AddInitializer(graph, wName + "_bnfolded", folded));
        SetInput(conv, 2, AddInitializer(graph, (conv.Input(2) ?? conv.DisplayName + "_bias") + "_bnfolded", Tensor.FromFloats([outChannels], newBias)));
        return true;
    }

    /// <summary>Y = α·A'·B' + β·C; BN scales output column j, so B' column j is scaled and C becomes a vector.</summary>
    private static bool FoldIntoGemm(Graph.Graph graph, Node gemm, Affine p)
    {
        if (gemm.Input(1) is not { } bName || !graph.Initializers.TryGetValue(bName, out var b) || b.Type != DataType.Float || b.Rank != 2)
        {
            return false;
        }
        var transB = gemm.GetInt("transB", 0) != 0;
        var (k, m) = transB ? (b.Shape[1], b.Shape[0]) : (b.Shape[0], b.Shape[1]);
        if (m != p.Scale.Length)
        {
            return false;
        }
        var c = gemm.Input(2) is { } cName ? graph.Initializers.GetValueOrDefault(cName) : null;
        if (gemm.Input(2) is not null && (c is null || !c.Type.IsFloat() || !BroadcastsToRow(c, m)))
        {
            return false;
        }
        double betaAttr = gemm.GetFloat("beta", 1f);
        var folded = Folded(b, () =>
        {
            var src = b.ToFloatsUncached();
            var weights = new float[src.Length];
            for (var r = 0; r < k; r++)
            {
                for (var j = 0; j < m; j++)
                {
                    var idx = transB ? j * k + r : r * m + j;
                    weights[idx] = (float)(src[idx] * p.Scale[j]);
                }
            }
            return weights;
        });
        var newC = new float[m];
        for (var j = 0; j < m; j++)
        {
            var cj = c is null ? 0.0 : c.Floats[c.Length == 1 ? 0 : j];
            newC[j] = (float)(betaAttr * cj * p.Scale[j] + p.Shift[j]);
        }
        SetInput(gemm, 1, AddInitializer(graph, bName + "_bnfolded", folded));
        SetInput(gemm, 2, AddInitializer(graph, (gemm.Input(2) ?? gemm.DisplayName + "_bias") + "_bnfolded", Tensor.FromFloats([m], newC)));
        gemm.Attributes["beta"] = AttributeValue.Of(1f);
        return true;
    }

    /// <summary>The scaled weight; computed when first read if the weight itself is still in the file (a model only checked never reads it).</summary>
    private static Tensor Folded(Tensor w, Func<float[]> scale) =>
        w.IsLoaded ? Tensor.FromFloats((int[])w.Shape.Clone(), scale()) : Tensor.Deferred(DataType.Float, (int[])w.Shape.Clone(), scale);

    private static bool BroadcastsToRow(Tensor c, int m) =>
        c.Length == 1 || (c.Length == m && c.Shape[^1] == m);

    private static string AddInitializer(Graph.Graph graph, string prefix, Tensor t)
    {
        var name = graph.UniqueName(prefix);
        graph.Initializers[name] = t;
        return name;
    }

    private static void SetInput(Node node, int index, string name)
    {
        while (node.Inputs.Count <= index)
        {
            node.Inputs.Add("");
        }
        node.Inputs[index] = name;
    }
}
