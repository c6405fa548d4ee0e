using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Movement;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Transpose by perm (default: reverse the axes).</summary>
[OnnxOp("Transpose")]
public sealed class TransposeOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    private int[] Perm(int rank)
    {
        var perm = Node.GetInts("perm")?.Select(p => (int)p).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();
        if (perm.Length != rank || perm.Order().Where((p, i) => p != i).Any())
        {
            throw Error($"perm [{string.Join(",", perm)}] is not a permutation of {rank} axes.");
        }
        return perm;
    }

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        return [new TensorDesc(x.Type, Perm(x.Shape.Length).Select(p => x.Shape[p]).ToArray())];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var perm = Perm(x.Rank);
        var strides = ShapeUtil.Strides(x.Shape);
        TypedArrays.Dispatch(x.Data, outputs[0].Data, new StridedCopyAction(0, outputs[0].Shape, perm.Select(p => strides[p]).ToArray(), context.Threads));
    }
}

/// <summary>Expand: bidirectional broadcast of the input to a constant shape.</summary>
[OnnxOp("Expand")]
public sealed class ExpandOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        var shape = OptionalConstant(inputs, 1, "shape")?.ToLongs() ?? throw Error("shape is required.");
        try
        {
            return [new TensorDesc(x.Type, ShapeUtil.Broadcast(x.Shape, shape.Select(d => (int)d).ToArray()))];
        }
        catch (InvalidOperationException e)
        {
            throw Error(e.Message);
        }
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var y = outputs[0];
        TypedArrays.Dispatch(x.Data, y.Data, new StridedCopyAction(0, y.Shape, Kernels.Elementwise.BroadcastLayout.Strides(x.Shape, y.Shape)));
    }
}
