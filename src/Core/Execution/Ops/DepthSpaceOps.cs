using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Movement;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// DepthToSpace / SpaceToDepth on [N,C,H,W] as a reshape to 6-D, a transpose and a reshape back,
/// done in one strided copy.
/// </summary>
public abstract class DepthSpaceOperator : FoldingOperator
{
    protected DepthSpaceOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    protected int BlockSize => (int)Node.GetInt("blocksize", 0);

    /// <summary>The input seen as 6-D, and the permutation taking it to the output's 6-D view.</summary>
    protected abstract (int[] View, int[] Perm) Layout(int[] shape);

    protected abstract int[] OutputShape(int[] shape);

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        if (x.Shape.Length != 4 || BlockSize < 1)
        {
            throw Error($"expects a 4-D input and blocksize ≥ 1, got {ShapeUtil.Format(x.Shape)} and {BlockSize}.");
        }
        return [new TensorDesc(x.Type, OutputShape(x.Shape))];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var (view, perm) = Layout(x.Shape);
        var strides = ShapeUtil.Strides(view);
        TypedArrays.Dispatch(x.Data, outputs[0].Data,
            new StridedCopyAction(0, perm.Select(p => view[p]).ToArray(), perm.Select(p => strides[p]).ToArray()));
    }
}

/// <summary>DepthToSpace in DCR (default) or CRD mode.</summary>
[OnnxOp("DepthToSpace")]
public sealed class DepthToSpaceOperator(Node node, OperatorContext context) : DepthSpaceOperator(node, context)
{
    protected override int[] OutputShape(int[] s)
    {
        var b = BlockSize;
        if (s[1] % (b * b) != 0)
        {
            throw Error($"channels {s[1]} are not divisible by blocksize² {b * b}.");
        }
        return [s[0], s[1] / (b * b), s[2] * b, s[3] * b];
    }

    protected override (int[] View, int[] Perm) Layout(int[] s)
    {
        var b = BlockSize;
        var c = s[1] / (b * b);
        return Node.GetString("mode", "DCR") == "CRD"
            ? ([s[0], c, b, b, s[2], s[3]], [0, 1, 4, 2, 5, 3])
            : ([s[0], b, b, c, s[2], s[3]], [0, 3, 4, 1, 5, 2]);
    }
}

[OnnxOp("SpaceToDepth")]
public sealed class SpaceToDepthOperator(Node node, OperatorContext context) : DepthSpaceOperator(node, context)
{
    protected override int[] OutputShape(int[] s)
    {
        var b = BlockSize;
        if (s[2] % b != 0 || s[3] % b != 0)
        {
            throw Error($"spatial size {s[2]}x{s[3]} is not divisible by blocksize {b}.");
        }
        return [s[0], s[1] * b * b, s[2] / b, s[3] / b];
    }

    protected override (int[] View, int[] Perm) Layout(int[] s)
    {
        var b = BlockSize;
        return ([s[0], s[1], s[2] / b, b, s[3] / b, b], [0, 3, 5, 1, 2, 4]);
    }
}
