using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Format;
using DSConvService.Core.Graph;
using DSConvService.Core.Quantization.Weights;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization;

/// <summary>
/// The in-memory form of quantized layers (the contract with the integer operators):
/// DSConvConv (X, Q, Kds, [Bias], [KdsBias], [CdsScale], [CdsBias]) and DSConvGemm (same inputs,
/// X [N, K], Q [Nout, K]) in domain "ai.dsconv".
/// </summary>
public static class DSConvNodes
{
    public const string Domain = "ai.dsconv";
    public const string Conv = "DSConvConv";
    public const string Gemm = "DSConvGemm";

    public const int InputX = 0, InputQ = 1, InputKds = 2, InputBias = 3, InputKdsBias = 4, InputCdsScale = 5, InputCdsBias = 6;

    public static bool IsDSConv(Node n) => n.Domain == Domain && n.OpType is Conv or Gemm;

    /// <summary>
    /// Reads the quantized weight of a DSConv node back from the model's initializers ([O, C, S] view). Its codes are
    /// the model's own array, not a copy (the artifact writer reads every layer: a copy would double the codes); the
    /// scales are copies.
    /// </summary>
    public static DSConvWeights ReadWeight(Model model, Node node)
    {
        var inits = model.Graph.Initializers;
        Tensor Init(int i) => node.Input(i) is { } name && inits.TryGetValue(name, out var t)
            ? t
            : throw new InvalidModelException($"{node}: input {i} must be a constant initializer.");
        var q = Init(InputQ);
        var kds = Init(InputKds);
        var format = DSConvFormat.Of(DSConvSettings.FromNode(node), DSConvSettings.IsDepthwise(node));
        var (kh, kw) = q.Shape.Length == 4 ? (q.Shape[2], q.Shape[3]) : (1, 1);
        var kdsValues = kds.ToFloats();
        var kdsLength = format.Depthwise ? q.Shape[0] : q.Shape[0] * format.BlocksPerGroup(q.Shape[1]) * kh * kw;
        if (kdsValues.Length != kdsLength)
        {
            throw new InvalidModelException($"{node}: KDS has {kdsValues.Length} values, expected {kdsLength}.");
        }
        DSConvWeights qw;
        try
        {
            qw = new DSConvWeights(q.Shape[0], q.Shape[1], kh, kw, format, q.SBytes, (float[])kdsValues.Clone());
        }
        catch (ArgumentException e)
        {
            throw new InvalidModelException($"{node}: {e.Message}", e);
        }
        qw.KdsIsFloat16 = kdsValues.All(v => (float)(Half)v == v);
        if (node.Input(InputKdsBias) is not null)
        {
            qw.KdsBias = (float[])Init(InputKdsBias).ToFloats().Clone();
        }
        if (node.Input(InputCdsScale) is not null)
        {
            qw.CdsScale = (float[])Init(InputCdsScale).ToFloats().Clone();
        }
        if (node.Input(InputCdsBias) is not null)
        {
            qw.CdsBias = (float[])Init(InputCdsBias).ToFloats().Clone();
        }
        return qw;
    }

    /// <summary>Shape of the KDS tensor of a layer: [O, nb, kh, kw] (conv), [O, 1, 1, 1] (depthwise), [Nout, nb] (FC).</summary>
    public static int[] KdsShape(DSConvWeights qw, int[] weightShape, bool fc) =>
        fc ? [qw.O, qw.Nb]
        : qw.Format.Depthwise ? [qw.O, 1, 1, 1]
        : [qw.O, qw.Nb, weightShape[2], weightShape[3]];

    /// <summary>The Conv attributes a DSConvConv node carries, with defaults made explicit.</summary>
    public static readonly string[] ConvAttributes = ["group", "strides", "pads", "dilations", "kernel_shape"];

    public static readonly string[] FusedAttributes = ["fused_activation", "fused_min", "fused_max", "fused_alpha"];
}
