using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// An operator whose outputs fold to constants when all its inputs are constant (see
/// <see cref="ConstantFolder"/>). Subclasses only infer shapes.
/// </summary>
public abstract class FoldingOperator : Operator
{
    protected FoldingOperator(Node node, OperatorContext context) : base(node) => Opset = context.Opset;

    /// <summary>The model's default-domain opset (attributes moved to inputs across versions).</summary>
    protected long Opset { get; }

    /// <summary>Output types and shapes (and constants, when known without running, e.g. Shape).</summary>
    protected abstract TensorDesc[] InferShapes(TensorDesc?[] inputs);

    public sealed override TensorDesc[] InferOutputs(TensorDesc?[] inputs) =>
        ConstantFolder.TryFold(this, inputs, InferShapes(inputs));

    /// <summary>Input i when given (null when absent); it must be a plan-time constant.</summary>
    protected Tensor? OptionalConstant(TensorDesc?[] inputs, int i, string what) =>
        i < inputs.Length && inputs[i] is { } d
            ? d.Constant ?? throw Error($"{what} (input {i}) must be a constant or computable from shapes; data-dependent {what} is not supported.")
            : null;

    /// <summary>
    /// An integer list given as attribute <paramref name="attribute"/> (older opsets) or as constant input
    /// <paramref name="input"/> (newer opsets); null when neither is given.
    /// </summary>
    protected long[]? IntsFromAttributeOrInput(Tensor?[] inputs, string attribute, int input) =>
        Node.GetInts(attribute) ?? (input < inputs.Length && inputs[input] is { } t ? t.ToLongs() : null);

    protected TensorDesc Input(TensorDesc?[] inputs, int i) => Required(inputs, i);

    protected static Tensor?[] Constants(TensorDesc?[] inputs) => inputs.Select(d => d?.Constant).ToArray();

    protected void RequireFloat(TensorDesc d, string what)
    {
        if (!d.Type.IsFloat())
        {
            throw Error($"{what} must be a float tensor, got {d.Type}.");
        }
    }

    /// <summary>Resolves a possibly negative axis, with an error naming the node.</summary>
    protected int Axis(long axis, int rank)
    {
        var a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.Max(rank, 1))
        {
            throw Error($"axis {axis} is out of range for rank {rank}.");
        }
        return (int)a;
    }

    /// <summary>Resolves a list of axes (sorted, distinct).</summary>
    protected int[] Axes(IEnumerable<long> axes, int rank)
    {
        var r = axes.Select(a => Axis(a, rank)).Order().ToArray();
        if (r.Distinct().Count() != r.Length)
        {
            throw Error("axes contain duplicates.");
        }
        return r;
    }
}
