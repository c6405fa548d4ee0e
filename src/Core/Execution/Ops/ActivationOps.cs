using System.Numerics.Tensors;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Tensors;
using Tensor = DSConvService.Core.Tensors.Tensor;

namespace DSConvService.Core.Execution.Ops;

[OnnxOp("Relu")]
public sealed class ReluOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override bool SupportsIntegers => true;
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => ActivationKernels.Relu(x, y);
    protected override long ApplyLong(long x) => Math.Max(x, 0);
}

[OnnxOp("LeakyRelu")]
public sealed class LeakyReluOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    private readonly float _alpha = node.GetFloat("alpha", 0.01f);
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => ActivationKernels.LeakyRelu(x, y, _alpha);
}

[OnnxOp("Sigmoid")]
public sealed class SigmoidOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => ActivationKernels.Sigmoid(x, y);
}

[OnnxOp("HardSigmoid")]
public sealed class HardSigmoidOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    private readonly float _alpha = node.GetFloat("alpha", 0.2f);
    private readonly float _beta = node.GetFloat("beta", 0.5f);
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => ActivationKernels.HardSigmoid(x, y, _alpha, _beta);
}

[OnnxOp("HardSwish")]
public sealed class HardSwishOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => ActivationKernels.HardSwish(x, y);
}

[OnnxOp("Tanh")]
public sealed class TanhOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);
}

/// <summary>Clip: bounds are attributes before opset 11, optional (scalar) inputs from 11 on.</summary>
[OnnxOp("Clip")]
public sealed class ClipOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override bool SupportsIntegers => true;

    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) =>
        ActivationKernels.Clip(x, y, Node.GetFloat("min", float.MinValue), Node.GetFloat("max", float.MaxValue));

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        if (x.Data is long[] xl)
        {
            var lo = inputs.Length > 1 && inputs[1] is { } l ? l.ToLongs()[0] : long.MinValue;
            var hi = inputs.Length > 2 && inputs[2] is { } h ? h.ToLongs()[0] : long.MaxValue;
            var yl = outputs[0].Longs;
            for (var i = 0; i < xl.Length; i++)
            {
                yl[i] = Math.Min(Math.Max(xl[i], lo), hi);
            }
            return;
        }
        var min = inputs.Length > 1 && inputs[1] is { } a ? a.ToFloats()[0] : Node.GetFloat("min", float.NegativeInfinity);
        var max = inputs.Length > 2 && inputs[2] is { } b ? b.ToFloats()[0] : Node.GetFloat("max", float.PositiveInfinity);
        Chunked(x.Floats, outputs[0].Floats, context.Threads, (xs, ys) => ActivationKernels.Clip(xs, ys, min, max));
    }
}

[OnnxOp("Elu")]
public sealed class EluOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    private readonly float _alpha = node.GetFloat("alpha", 1f);

    protected override void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            var v = x[i];
            y[i] = v >= 0 ? v : _alpha * (MathF.Exp(v) - 1f);
        }
    }
}

[OnnxOp("Selu")]
public sealed class SeluOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    private readonly float _alpha = node.GetFloat("alpha", 1.67326319217681884765625f);
    private readonly float _gamma = node.GetFloat("gamma", 1.05070102214813232421875f);

    protected override void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            var v = x[i];
            y[i] = _gamma * (v > 0 ? v : _alpha * (MathF.Exp(v) - 1f));
        }
    }
}

/// <summary>Softplus: y = log(1 + exp(x)), written to stay finite for large x.</summary>
[OnnxOp("Softplus")]
public sealed class SoftplusOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            var v = x[i];
            y[i] = v > 0 ? v + MathF.Log(1f + MathF.Exp(-v)) : MathF.Log(1f + MathF.Exp(v));
        }
    }
}

[OnnxOp("Softsign")]
public sealed class SoftsignOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            y[i] = x[i] / (1f + MathF.Abs(x[i]));
        }
    }
}

/// <summary>Mish: y = x · tanh(softplus(x)).</summary>
[OnnxOp("Mish")]
public sealed class MishOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            var v = x[i];
            var softplus = v > 0 ? v + MathF.Log(1f + MathF.Exp(-v)) : MathF.Log(1f + MathF.Exp(v));
            y[i] = v * MathF.Tanh(softplus);
        }
    }
}

/// <summary>Gelu (opset 20): exact y = x/2 · (1 + erf(x/√2)), or approximate = "tanh".</summary>
[OnnxOp("Gelu")]
public sealed class GeluOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    private readonly bool _tanh = node.GetString("approximate", "none") == "tanh";

    protected override void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = (float)(_tanh
                ? 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))
                : 0.5 * v * (1 + ErfKernel.Erf(v / Math.Sqrt(2))));
        }
    }
}

[OnnxOp("ThresholdedRelu")]
public sealed class ThresholdedReluOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    private readonly float _alpha = node.GetFloat("alpha", 1f);

    protected override void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            y[i] = x[i] > _alpha ? x[i] : 0f;
        }
    }
}
