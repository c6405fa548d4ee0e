using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops.DSConv;

/// <summary>Reads the constant weight inputs (Q, Kds, Bias, KdsBias, CdsScale, CdsBias) of a DSConv node.</summary>
internal static class DSConvInputs
{
    public static DSConvWeights Weights(Operator op, Node node, OperatorContext context, int o, int cg, int kh, int kw, DSConvFormat format, sbyte[] q)
    {
        var kds = Floats(node, context, 2, "Kds") ?? throw DSConvAttributes.Error(node, "Kds (input 2) must be an initializer.");
        try
        {
            return new DSConvWeights(o, cg, kh, kw, format, q, kds,
                bias: Floats(node, context, 3, "Bias"),
                kdsBias: Floats(node, context, 4, "KdsBias"),
                cdsScale: Floats(node, context, 5, "CdsScale"),
                cdsBias: Floats(node, context, 6, "CdsBias"));
        }
        catch (ArgumentException e)
        {
            throw DSConvAttributes.Error(node, e.Message);
        }
    }

    /// <summary>
    /// The VQK codes of Q, one sbyte per weight. A deferred Q (an artifact read from its file) is read without being kept
    /// in the model, so the codes live only as long as the engine that packed them (it keeps its weights).
    /// </summary>
    public static sbyte[] Codes(Tensor q) => q.ReadUncached() as sbyte[] ?? throw new InvalidOperationException($"Tensor of {q.Type} holds no sbyte data.");

    private static float[]? Floats(Node node, OperatorContext context, int index, string name)
    {
        if (node.Input(index) is null)
        {
            return null;
        }
        var t = context.Constant(node, index) ?? throw DSConvAttributes.Error(node, $"{name} (input {index}) must be an initializer.");
        return t.ToFloats();
    }
}
