using System.Numerics.Tensors;
using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;
using Tensor = DSConvService.Core.Tensors.Tensor;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// LRN across channels: y = x / (bias + alpha/size · Σ x²)^beta, the sum over channels
/// [c - floor((size-1)/2), c + ceil((size-1)/2)]. Vectorised over each H·W plane.
/// </summary>
[OnnxOp("LRN")]
public sealed class LrnOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    private readonly int _size = (int)node.GetInt("size", 0);
    private readonly float _alpha = node.GetFloat("alpha", 1e-4f);
    private readonly float _beta = node.GetFloat("beta", 0.75f);
    private readonly float _bias = node.GetFloat("bias", 1f);

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        RequireFloat(x, "X");
        if (_size < 1 || x.Shape.Length < 2)
        {
            throw Error("needs size ≥ 1 and an [N,C,...] input.");
        }
        return [new TensorDesc(x.Type, x.Shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var xs = x.Floats;
        var ys = outputs[0].Floats;
        var n = x.Shape[0];
        var channels = x.Shape[1];
        var plane = n * channels == 0 ? 0 : xs.Length / (n * channels);
        var before = (_size - 1) / 2;
        var after = _size - 1 - before;
        CpuParallel.For(n * channels, ParallelPolicy.Threads(xs.Length, context.Threads), (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var b = p / channels;
                var c = p % channels;
                var y = ys.AsSpan(p * plane, plane);
                // y holds Σ x² over the window first, then the denominator, then the result.
                y.Clear();
                for (var k = Math.Max(0, c - before); k <= Math.Min(channels - 1, c + after); k++)
                {
                    var xk = xs.AsSpan((b * channels + k) * plane, plane);
                    TensorPrimitives.MultiplyAdd(xk, xk, y, y);
                }
                Kernels.Elementwise.AffineKernel.ScaleShift(y, _alpha / _size, _bias, y);
                TensorPrimitives.Pow(y, _beta, y);
                TensorPrimitives.Divide(xs.AsSpan(p * plane, plane), y, y);
            }
        });
    }
}
