using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Element-wise comparisons with broadcasting; the output is Bool.</summary>
public abstract class ComparisonOperator<TCmp> : FoldingOperator where TCmp : IComparison
{
    protected ComparisonOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var a = Input(inputs, 0);
        var b = Input(inputs, 1);
        if (a.Type.IsFloat() != b.Type.IsFloat() || a.Type.Storage() is not (StorageKind.Float or StorageKind.Int64))
        {
            throw Error($"cannot compare {a.Type} with {b.Type}.");
        }
        try
        {
            return [new TensorDesc(DataType.Bool, ShapeUtil.Broadcast(a.Shape, b.Shape))];
        }
        catch (InvalidOperationException e)
        {
            throw Error(e.Message);
        }
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var a = inputs[0]!;
        var b = inputs[1]!;
        var y = outputs[0];
        if (a.Data is float[] af)
        {
            BinaryBroadcast.Run<float, float, long, CompareRows<float, TCmp>>(af, a.Shape, b.Floats, b.Shape, y.Longs, y.Shape, context.Threads);
        }
        else
        {
            BinaryBroadcast.Run<long, long, long, CompareRows<long, TCmp>>(a.Longs, a.Shape, b.Longs, b.Shape, y.Longs, y.Shape, context.Threads);
        }
    }
}

[OnnxOp("Equal")]
public sealed class EqualOperator(Node node, OperatorContext context) : ComparisonOperator<EqualOp>(node, context);

[OnnxOp("Less")]
public sealed class LessOperator(Node node, OperatorContext context) : ComparisonOperator<LessOp>(node, context);

[OnnxOp("LessOrEqual")]
public sealed class LessOrEqualOperator(Node node, OperatorContext context) : ComparisonOperator<LessOrEqualOp>(node, context);

[OnnxOp("Greater")]
public sealed class GreaterOperator(Node node, OperatorContext context) : ComparisonOperator<GreaterOp>(node, context);

[OnnxOp("GreaterOrEqual")]
public sealed class GreaterOrEqualOperator(Node node, OperatorContext context) : ComparisonOperator<GreaterOrEqualOp>(node, context);
