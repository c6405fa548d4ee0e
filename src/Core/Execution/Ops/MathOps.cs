using System.Numerics.Tensors;
using DSConvService.Core.Graph;

namespace DSConvService.Core.Execution.Ops;

[OnnxOp("Exp")]
public sealed class ExpOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Exp(x, y);
}

[OnnxOp("Log")]
public sealed class LogOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Log(x, y);
}

[OnnxOp("Sqrt")]
public sealed class SqrtOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sqrt(x, y);
}

[OnnxOp("Reciprocal")]
public sealed class ReciprocalOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Divide(1f, x, y);
}

[OnnxOp("Neg")]
public sealed class NegOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override bool SupportsIntegers => true;
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Negate(x, y);
    protected override long ApplyLong(long x) => -x;
}

[OnnxOp("Abs")]
public sealed class AbsOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override bool SupportsIntegers => true;
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Abs(x, y);
    protected override long ApplyLong(long x) => Math.Abs(x);
}

[OnnxOp("Floor")]
public sealed class FloorOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Floor(x, y);
}

[OnnxOp("Ceil")]
public sealed class CeilOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Ceiling(x, y);
}

[OnnxOp("Sign")]
public sealed class SignOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override bool SupportsIntegers => true;

    protected override void Apply(ReadOnlySpan<float> x, Span<float> y)
    {
        for (var i = 0; i < x.Length; i++)
        {
            y[i] = float.IsNaN(x[i]) ? x[i] : MathF.Sign(x[i]);
        }
    }

    protected override long ApplyLong(long x) => Math.Sign(x);
}

/// <summary>Round half to even, as ONNX specifies.</summary>
[OnnxOp("Round")]
public sealed class RoundOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Round(x, y);
}

[OnnxOp("Sin")]
public sealed class SinOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sin(x, y);
}

[OnnxOp("Cos")]
public sealed class CosOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Cos(x, y);
}

[OnnxOp("Erf")]
public sealed class ErfOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => Kernels.Elementwise.ErfKernel.Erf(x, y);
}

/// <summary>Logical not on booleans (held as 0/1 longs).</summary>
[OnnxOp("Not")]
public sealed class NotOperator(Node node, OperatorContext context) : UnaryOperator(node, context)
{
    protected override bool SupportsIntegers => true;
    protected override void Apply(ReadOnlySpan<float> x, Span<float> y) => throw Error("expects a Bool input.");
    protected override long ApplyLong(long x) => x == 0 ? 1 : 0;
}
