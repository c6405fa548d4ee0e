using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Softmax / LogSoftmax. Before opset 13 the input is coerced to 2-D at 'axis' (default 1) and
/// normalised over everything from axis on; from 13 over the single 'axis' (default -1).
/// </summary>
public abstract class SoftmaxFamilyOperator : FoldingOperator
{

    protected SoftmaxFamilyOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    protected abstract void Row(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>The input seen as [outer, n, inner], normalised over n.</summary>
    private (int Outer, int N, int Inner) Layout(int[] shape)
    {
        var rank = shape.Length;
        if (rank == 0)
        {
            return (1, 1, 1);
        }
        var coerced = Opset < 13;
        var axis = Axis(Node.GetInt("axis", coerced ? 1 : -1), rank);
        int outer = 1, n = 1, inner = 1;
        for (var i = 0; i < rank; i++)
        {
            if (i < axis)
            {
                outer *= shape[i];
            }
            else if (i == axis || coerced)
            {
                n *= shape[i];
            }
            else
            {
                inner *= shape[i];
            }
        }
        return (outer, n, inner);
    }

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        RequireFloat(x, "input");
        Layout(x.Shape);
        return [new TensorDesc(x.Type, x.Shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!.Floats;
        var y = outputs[0].Floats;
        var (outer, n, inner) = Layout(inputs[0]!.Shape);
        var threads = ParallelPolicy.Threads(x.Length, context.Threads);
        if (inner == 1)
        {
            CpuParallel.For(outer, threads, (start, end) =>
            {
                for (var o = start; o < end; o++)
                {
                    Row(x.AsSpan(o * n, n), y.AsSpan(o * n, n));
                }
            });
            return;
        }
        // Normalising over a middle axis: gather each strided column into a row buffer.
        CpuParallel.For(outer * inner, threads, (start, end) =>
        {
            var row = new float[n];
            for (var k = start; k < end; k++)
            {
                var baseIndex = k / inner * n * inner + k % inner;
                for (var i = 0; i < n; i++)
                {
                    row[i] = x[baseIndex + i * inner];
                }
                Row(row, row);
                for (var i = 0; i < n; i++)
                {
                    y[baseIndex + i * inner] = row[i];
                }
            }
        });
    }
}

[OnnxOp("Softmax")]
public sealed class SoftmaxOperator(Node node, OperatorContext context) : SoftmaxFamilyOperator(node, context)
{
    protected override void Row(ReadOnlySpan<float> x, Span<float> y) => SoftmaxKernel.Softmax(x, y);
}

[OnnxOp("LogSoftmax")]
public sealed class LogSoftmaxOperator(Node node, OperatorContext context) : SoftmaxFamilyOperator(node, context)
{
    protected override void Row(ReadOnlySpan<float> x, Span<float> y) => SoftmaxKernel.LogSoftmax(x, y);
}
