using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Imaging;
using DSConvService.Core.Onnx;
using DSConvService.Core.Onnx.Structure;
using DSConvService.Core.Quantization.Simulation;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Artifact;

/// <summary>
/// The portable quantized file (DESIGN 4): standard ONNX, opset 21, IR 10. Per layer:
/// Q (INT4 for ≤ 4 bits, else INT8) and KDS (float16 + Cast, or float32) joined by
/// DequantizeLinear(axis=1, block_size=B) — depthwise: per-channel DequantizeLinear(axis=0) with a
/// [O] scale — then KDS bias (Expand/Reshape/Slice to the weight's shape) and CDS (Mul/Add of
/// [O,1,1,1]) feeding the original Conv, or Gemm(transB=1) for FC layers.
/// <see cref="Load"/> turns that pattern back into DSConv nodes.
/// ONNX Runtime 1.31 runs this encoding as is on CPU — blocked INT4 and INT8 DequantizeLinear at
/// opset 21 for 4-D conv weights and 2-D FC weights, float16 KDS through Cast, the per-channel
/// depthwise form (ArtifactTests and EngineIntegrationTests check each against the simulation),
/// so no fallback encoding is needed. Weights of 5 to 8 bits are stored as INT8 (ONNX has no
/// narrower type between INT4 and INT8).
/// </summary>
public static class DSConvArtifact
{
    public static byte[] Write(Model quantized, PreprocessingOptions? preprocessing, string[]? labels) =>
        OnnxWriter.ToBytes(ToOnnx(quantized, preprocessing, labels));

    /// <summary>The bytes of <see cref="Write"/> written to <paramref name="path"/> (atomically) one initializer at a time.</summary>
    public static void Save(Model quantized, PreprocessingOptions? preprocessing, string[]? labels, string path) =>
        OnnxWriter.Save(ToOnnx(quantized, preprocessing, labels), path);

    /// <summary>The length of <see cref="Write"/>'s bytes, counted as they are written one initializer at a time (none kept).</summary>
    public static long Length(Model quantized, PreprocessingOptions? preprocessing, string[]? labels)
    {
        using var counter = new CountingStream();
        OnnxWriter.WriteTo(ToOnnx(quantized, preprocessing, labels), counter);
        return counter.Count;
    }

    public static Model ToOnnx(Model quantized, PreprocessingOptions? preprocessing, string[]? labels)
    {
        var model = ModelCloner.Clone(quantized);
        OpsetUpgrade.ToOpset21(model);
        model.IrVersion = 10;
        model.Opsets.Remove(DSConvNodes.Domain);
        var g = model.Graph;
        var layers = new Dictionary<string, DSConvSettings>(StringComparer.Ordinal);
        var nodes = new List<Node>(g.Nodes.Count);
        foreach (var n in g.Nodes)
        {
            if (!DSConvNodes.IsDSConv(n))
            {
                nodes.Add(n);
                continue;
            }
            layers[n.DisplayName] = DSConvSettings.FromNode(n);
            nodes.AddRange(Expand(quantized, g, n, $"L{layers.Count}"));
        }
        g.Nodes.Clear();
        g.Nodes.AddRange(nodes);
        g.RemoveUnused();
        new ArtifactMetadata
        {
            // With per-layer settings, the model-wide keys say what most layers use (each layer has its own entry anyway).
            Settings = layers.Values.GroupBy(v => v).OrderByDescending(grp => grp.Count()).Select(grp => grp.Key).FirstOrDefault() ?? DSConvSettings.Default,
            Preprocessing = preprocessing,
            Labels = labels,
            Layers = layers,
        }.WriteTo(model.Metadata);
        return model;
    }

    // Generated values get short names (L7.q, L7.kds, ...): names are a visible share of a small file.
    private static List<Node> Expand(Model quantized, Graph.Graph g, Node n, string name)
    {
        var fc = n.OpType == DSConvNodes.Gemm;
        var qw = DSConvNodes.ReadWeight(quantized, n);
        var qTensor = g.Initializers[n.Inputs[DSConvNodes.InputQ]];
        var qShape = qTensor.Shape;
        var qName = g.UniqueName($"{name}.q");
        g.Initializers[qName] = qTensor;
        var nodes = new List<Node>();
        string Value(string suffix) => g.UniqueName($"{name}.{suffix}");
        string Const(string suffix, Tensor t)
        {
            var c = g.UniqueName($"{name}.{suffix}");
            g.Initializers[c] = t;
            return c;
        }
        Node Add(string op, string[] inputs, string output)
        {
            var node = new Node(op, inputs, [output]);
            nodes.Add(node);
            return node;
        }

        var kdsShape = qw.Format.Depthwise ? [qw.O] : DSConvNodes.KdsShape(qw, qShape, fc);
        string scale;
        if (qw.KdsIsFloat16)
        {
            var half = Const("kds16", new Tensor(DataType.Float16, kdsShape, (float[])qw.Kds.Clone()));
            scale = Value("kds");
            Add("Cast", [half], scale).Attributes["to"] = AttributeValue.Of((long)DataType.Float);
        }
        else
        {
            scale = Const("kds", Tensor.FromFloats(kdsShape, (float[])qw.Kds.Clone()));
        }
        var w = Value("w");
        var dq = Add("DequantizeLinear", [qName, scale], w);
        dq.Attributes["axis"] = AttributeValue.Of(qw.Format.Depthwise ? 0L : 1L);
        if (!qw.Format.Depthwise)
        {
            dq.Attributes["block_size"] = AttributeValue.Of((long)qw.Format.BlockSize);
        }
        if (qw.KdsBias is not null)
        {
            w = AddKdsBias(qw, qShape, fc, w, Value, Const, Add);
        }
        if (qw.CdsScale is not null || qw.CdsBias is not null)
        {
            int[] perChannel = fc ? [qw.O, 1] : [qw.O, 1, 1, 1];
            var scaled = Value("w_cds_scaled");
            Add("Mul", [w, Const("cds_scale", Tensor.FromFloats(perChannel, qw.CdsScale ?? Ones(qw.O)))], scaled);
            var shifted = Value("w_cds");
            Add("Add", [scaled, Const("cds_bias", Tensor.FromFloats(perChannel, qw.CdsBias ?? new float[qw.O]))], shifted);
            w = shifted;
        }
        var inputs = new List<string> { n.Inputs[DSConvNodes.InputX], w };
        if (n.Input(DSConvNodes.InputBias) is { } bias)
        {
            inputs.Add(bias);
        }
        var op = new Node(fc ? "Gemm" : "Conv", inputs, n.Outputs, n.DisplayName);
        if (fc)
        {
            op.Attributes["transB"] = AttributeValue.Of(1L);
        }
        else
        {
            foreach (var a in DSConvNodes.ConvAttributes.Where(n.Attributes.ContainsKey))
            {
                op.Attributes[a] = n.Attributes[a];
            }
        }
        nodes.Add(op);
        return nodes;
    }

    // ŵ += β of each block: β [O, nb, 1, kh, kw] expanded to [O, nb, B, kh, kw], reshaped to
    // [O, nb·B, kh, kw] and sliced to Cg channels (FC: [N, nb, 1] → [N, nb, B] → [N, nb·B] → K).
    private static string AddKdsBias(DSConvWeights qw, int[] qShape, bool fc, string w,
        Func<string, string> value, Func<string, Tensor, string> constant, Func<string, string[], string, Node> add)
    {
        var o = qw.O;
        var nb = qw.Nb;
        int[] rootShape, expanded, reshaped;
        if (qw.Format.Depthwise)
        {
            rootShape = [o, 1, 1, 1];
            expanded = qShape;
            reshaped = qShape;
        }
        else if (fc)
        {
            rootShape = [o, nb, 1];
            expanded = [o, nb, qw.Format.BlockSize];
            reshaped = [o, nb * qw.Format.BlockSize];
        }
        else
        {
            rootShape = [o, nb, 1, qShape[2], qShape[3]];
            expanded = [o, nb, qw.Format.BlockSize, qShape[2], qShape[3]];
            reshaped = [o, nb * qw.Format.BlockSize, qShape[2], qShape[3]];
        }
        var beta = constant("kds_bias", Tensor.FromFloats(rootShape, (float[])qw.KdsBias!.Clone()));
        var e = value("kds_bias_expanded");
        add("Expand", [beta, constant("kds_bias_shape", Tensor.FromLongs([expanded.Length], expanded.Select(d => (long)d).ToArray()))], e);
        if (!qw.Format.Depthwise)
        {
            var r = value("kds_bias_reshaped");
            add("Reshape", [e, constant("kds_bias_flat", Tensor.FromLongs([reshaped.Length], reshaped.Select(d => (long)d).ToArray()))], r);
            e = r;
            if (nb * qw.Format.BlockSize != qw.Cg)
            {
                var s = value("kds_bias_sliced");
                add("Slice", [e, constant("kds_bias_start", Tensor.FromLongs([1], [0])), constant("kds_bias_end", Tensor.FromLongs([1], [qw.Cg])),
                    constant("kds_bias_axis", Tensor.FromLongs([1], [1]))], s);
                e = s;
            }
        }
        var sum = value("w_kds_bias");
        add("Add", [w, e], sum);
        return sum;
    }

    private static float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();

    /// <summary>
    /// Reads an artifact and rebuilds the DSConv nodes from its DequantizeLinear patterns (a file
    /// without DSConv metadata is returned as it is, with null metadata).
    /// </summary>
    public static (Model Model, ArtifactMetadata? Metadata) Load(byte[] bytes) => Rebuilt(OnnxReader.Load(bytes));

    /// <summary>
    /// <see cref="Load(byte[])"/> of a file read structurally: the VQK codes and other large initializers stay in the
    /// file (deferred tensors) until an engine session reads them to pack its kernels. The file must stay in place
    /// while the model is used.
    /// </summary>
    public static (Model Model, ArtifactMetadata? Metadata) Load(string path) => Rebuilt(OnnxStructureReader.Load(path));

    private static (Model Model, ArtifactMetadata? Metadata) Rebuilt(Model model)
    {
        var meta = ArtifactMetadata.ReadFrom(model.Metadata);
        if (meta is null)
        {
            return (model, null);
        }
        ArtifactReader.RebuildDSConvNodes(model, meta);
        return (model, meta);
    }
}
