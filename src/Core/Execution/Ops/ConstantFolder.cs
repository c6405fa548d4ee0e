using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Computes an operator's outputs at planning time when all its inputs are constants, so that
/// shape subgraphs (Shape → Gather → Unsqueeze → Concat → Reshape) and constant arithmetic fold away.
/// </summary>
public static class ConstantFolder
{
    /// <summary>Outputs larger than this (in elements, all outputs together) stay computed at run time.</summary>
    public const long MaxFoldedElements = 1 << 24;

    /// <summary>True when every given input is constant (a node without inputs counts as constant).</summary>
    public static bool AllConstant(TensorDesc?[] inputs) => inputs.All(i => i is null || i.IsConstant);

    /// <summary>
    /// Returns <paramref name="outputs"/> with their Constant set by running <paramref name="op"/> on
    /// the constant inputs, or <paramref name="outputs"/> unchanged when folding does not apply.
    /// </summary>
    public static TensorDesc[] TryFold(Operator op, TensorDesc?[] inputs, TensorDesc[] outputs)
    {
        if (outputs.All(o => o.IsConstant) || !AllConstant(inputs))
        {
            return outputs;
        }
        long total = 0;
        foreach (var o in outputs)
        {
            total += ShapeUtil.Size(o.Shape);
        }
        if (total > MaxFoldedElements)
        {
            return outputs;
        }
        var values = inputs.Select(i => i?.Constant).ToArray();
        var results = outputs.Select(o => o.Constant ?? Tensor.Zeros(o.Type, o.Shape)).ToArray();
        var scratch = op.ScratchFloats(inputs);
        op.Run(values, results, new RunContext(1, new float[scratch]));
        return outputs.Select((o, k) => o with { Constant = results[k] }).ToArray();
    }
}
