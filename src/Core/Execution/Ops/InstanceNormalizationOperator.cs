using System.Numerics.Tensors;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;
using Tensor = DSConvService.Core.Tensors.Tensor;

namespace DSConvService.Core.Execution.Ops;

/// <summary>InstanceNormalization: per (n, c) plane, y = scale[c]·(x - mean)/sqrt(var + epsilon) + B[c].</summary>
[OnnxOp("InstanceNormalization")]
public sealed class InstanceNormalizationOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        RequireFloat(x, "input");
        if (x.Shape.Length < 3 || ShapeUtil.Size(Input(inputs, 1).Shape) != x.Shape[1] || ShapeUtil.Size(Input(inputs, 2).Shape) != x.Shape[1])
        {
            throw Error("expects input [N,C,spatial...] with scale and B of C values.");
        }
        return [new TensorDesc(x.Type, x.Shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var scale = inputs[1]!.ToFloats();
        var bias = inputs[2]!.ToFloats();
        var eps = Node.GetFloat("epsilon", 1e-5f);
        var channels = x.Shape[1];
        var planes = x.Shape[0] * channels;
        var size = x.Length / Math.Max(planes, 1);
        var xs = x.Floats;
        var ys = outputs[0].Floats;
        CpuParallel.For(planes, ParallelPolicy.Threads(xs.Length, context.Threads), (start, end) =>
        {
            for (var p = start; p < end; p++)
            {
                var plane = xs.AsSpan(p * size, size);
                var mean = TensorPrimitives.Sum(plane) / size;
                var variance = 0.0;
                foreach (var v in plane)
                {
                    variance += (v - mean) * (double)(v - mean);
                }
                var a = scale[p % channels] / MathF.Sqrt((float)(variance / size) + eps);
                AffineKernel.ScaleShift(plane, a, bias[p % channels] - mean * a, ys.AsSpan(p * size, size));
            }
        });
    }
}
