using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Kernels.Movement;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Where(cond, X, Y) with three-way numpy broadcasting.</summary>
[OnnxOp("Where")]
public sealed class WhereOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var c = Input(inputs, 0);
        var x = Input(inputs, 1);
        var y = Input(inputs, 2);
        if (x.Type.Storage() != y.Type.Storage() || c.Type.Storage() != StorageKind.Int64)
        {
            throw Error($"expects a Bool condition and X, Y of one type, got {c.Type}, {x.Type}, {y.Type}.");
        }
        try
        {
            return [new TensorDesc(x.Type, ShapeUtil.Broadcast(ShapeUtil.Broadcast(c.Shape, x.Shape), y.Shape))];
        }
        catch (InvalidOperationException e)
        {
            throw Error(e.Message);
        }
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var (c, x, y, d) = (inputs[0]!, inputs[1]!, inputs[2]!, outputs[0]);
        TypedArrays.Dispatch(x.Data, d.Data, new Select(c.Longs, BroadcastLayout.Strides(c.Shape, d.Shape), y.Data,
            BroadcastLayout.Strides(x.Shape, d.Shape), BroadcastLayout.Strides(y.Shape, d.Shape), d.Shape, d.Data));
    }

    private readonly struct Select(long[] cond, int[] condStrides, Array y, int[] xStrides, int[] yStrides, int[] shape, Array dst) : IArrayAction
    {
        public void Run<T>(T[] source, T[] destination) where T : unmanaged =>
            SelectKernel.Run(cond, condStrides, source, xStrides, (T[])y, yStrides, shape, (T[])dst);
    }
}
