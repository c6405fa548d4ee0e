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
