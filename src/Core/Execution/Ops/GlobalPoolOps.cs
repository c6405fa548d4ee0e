using System.Numerics.Tensors;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;
using Tensor = DSConvService.Core.Tensors.Tensor;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Global pooling: one value per (n, c) plane; the output keeps the rank with spatial sizes 1.</summary>
public abstract class GlobalPoolOperator : FoldingOperator
{

    protected GlobalPoolOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    protected abstract float Reduce(ReadOnlySpan<float> plane);

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        RequireFloat(x, "X");
        if (x.Shape.Length < 3)
        {
            throw Error($"X must be [N,C,spatial...], got {ShapeUtil.Format(x.Shape)}.");
        }
        var shape = x.Shape.Select((d, i) => i < 2 ? d : 1).ToArray();
        return [new TensorDesc(x.Type, shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var xs = inputs[0]!.Floats;
        var ys = outputs[0].Floats;
        var planes = ys.Length;
        var size = planes == 0 ? 0 : xs.Length / planes;
        CpuParallel.For(planes, ParallelPolicy.Threads(xs.Length, context.Threads), (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                ys[p] = Reduce(xs.AsSpan(p * size, size));
            }
        });
    }
}

[OnnxOp("GlobalAveragePool")]
public sealed class GlobalAveragePoolOperator(Node node, OperatorContext context) : GlobalPoolOperator(node, context)
{
    protected override float Reduce(ReadOnlySpan<float> plane) => TensorPrimitives.Sum(plane) / plane.Length;
}

[OnnxOp("GlobalMaxPool")]
public sealed class GlobalMaxPoolOperator(Node node, OperatorContext context) : GlobalPoolOperator(node, context)
{
    protected override float Reduce(ReadOnlySpan<float> plane) => TensorPrimitives.Max(plane);
}
