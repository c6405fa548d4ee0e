using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// BatchNormalization in inference mode: y = (x - mean) / sqrt(var + epsilon) · scale + B per channel
/// (axis 1), computed as y = x·a[c] + b[c]. Extra outputs of old opsets (running mean/var) echo the inputs.
/// </summary>
[OnnxOp("BatchNormalization")]
public sealed class BatchNormalizationOperator : FoldingOperator
{
    private readonly (float[] Scale, float[] Shift)? _packed;

    public BatchNormalizationOperator(Node node, OperatorContext context) : base(node, context)
    {
        if (node.GetInt("training_mode", 0) != 0)
        {
            throw new UnsupportedOperatorException("BatchNormalization", node.DisplayName, "training_mode=1 is not supported (inference only)");
        }
        if (Enumerable.Range(1, 4).All(i => context.Constant(node, i) is not null))
        {
            _packed = Fold(Enumerable.Range(1, 4).Select(i => context.Constant(node, i)!).ToArray());
        }
    }

    private (float[] Scale, float[] Shift) Fold(Tensor[] p)
    {
        var scale = p[0].ToFloats();
        var bias = p[1].ToFloats();
        var mean = p[2].ToFloats();
        var variance = p[3].ToFloats();
        var eps = Node.GetFloat("epsilon", 1e-5f);
        var a = new float[scale.Length];
        var b = new float[scale.Length];
        for (var c = 0; c < a.Length; c++)
        {
            a[c] = scale[c] / MathF.Sqrt(variance[c] + eps);
            b[c] = bias[c] - mean[c] * a[c];
        }
        return (a, b);
    }

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        RequireFloat(x, "X");
        if (x.Shape.Length < 2)
        {
            throw Error($"X must have at least 2 dimensions, got {ShapeUtil.Format(x.Shape)}.");
        }
        var c = x.Shape[1];
        for (var i = 1; i <= 4; i++)
        {
            var p = Input(inputs, i);
            if (ShapeUtil.Size(p.Shape) != c)
            {
                throw Error($"input {i} has {ShapeUtil.Size(p.Shape)} values for {c} channels.");
            }
        }
        var outs = new List<TensorDesc> { new(x.Type, x.Shape) };
        for (var k = 1; k < Node.Outputs.Count; k++)
        {
            // Old opsets list running mean/var (and saved statistics) as outputs; in inference they are the inputs.
            outs.Add(new TensorDesc(DataType.Float, [c]));
        }
        return outs.ToArray();
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var (a, b) = _packed ?? Fold(inputs.Skip(1).Take(4).Select(t => t!).ToArray());
        var xs = x.Floats;
        var ys = outputs[0].Floats;
        var channels = x.Shape[1];
        var planes = x.Shape[0] * channels;
        var size = planes == 0 ? 0 : xs.Length / planes;
        if (size == 1)
        {
            // [N, C] (after a Gemm): one row per sample, vectorised over the channels.
            for (var n = 0; n < x.Shape[0]; n++)
            {
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(xs.AsSpan(n * channels, channels), a, b, ys.AsSpan(n * channels, channels));
            }
        }
        else
        {
            CpuParallel.For(planes, ParallelPolicy.Threads(xs.Length, context.Threads), (start, end) =>
            {
                for (var p = start; p < end; p++)
                {
                    var c = p % channels;
                    AffineKernel.ScaleShift(xs.AsSpan(p * size, size), a[c], b[c], ys.AsSpan(p * size, size));
                }
            });
        }
        for (var k = 1; k < outputs.Length; k++)
        {
            var src = inputs[k % 2 == 1 ? 3 : 4]!.ToFloats();
            src.AsSpan(0, Math.Min(src.Length, outputs[k].Length)).CopyTo(outputs[k].Floats);
        }
    }
}
