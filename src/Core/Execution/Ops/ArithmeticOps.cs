using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Elementwise;
using DSConvService.Core.Kernels.Movement;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Element-wise arithmetic with numpy broadcasting over float or integer tensors (both inputs of one kind).
/// Max and Min take any number of inputs.
/// </summary>
public abstract class ArithmeticOperator<TOp> : FoldingOperator where TOp : IArithmetic
{
    protected ArithmeticOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    protected virtual bool Variadic => false;

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var count = Variadic ? inputs.Length : 2;
        if (count < 1 || (!Variadic && inputs.Length < 2))
        {
            throw Error("needs two inputs.");
        }
        var first = Input(inputs, 0);
        var shape = first.Shape;
        for (var i = 1; i < count; i++)
        {
            var d = Input(inputs, i);
            if (d.Type.IsFloat() != first.Type.IsFloat() && !(typeof(TOp) == typeof(PowOp) && first.Type.IsFloat()))
            {
                throw Error($"input types {first.Type} and {d.Type} do not match.");
            }
            shape = BroadcastShape(shape, d.Shape);
        }
        if (first.Type.Storage() is not (StorageKind.Float or StorageKind.Int64))
        {
            throw Error($"element type {first.Type} is not supported.");
        }
        return [new TensorDesc(first.Type, shape)];
    }

    protected int[] BroadcastShape(int[] a, int[] b)
    {
        try
        {
            return ShapeUtil.Broadcast(a, b);
        }
        catch (InvalidOperationException e)
        {
            throw Error(e.Message);
        }
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var y = outputs[0];
        var a = inputs[0]!;
        if (!Variadic || inputs.Length == 2)
        {
            Apply(a, inputs[1]!, y, context.Threads);
            return;
        }
        // Broadcast the first input into y, then fold the others in place.
        TypedArrays.Dispatch(a.Data, y.Data, new StridedCopyAction(0, y.Shape, BroadcastLayout.Strides(a.Shape, y.Shape)));
        for (var i = 1; i < inputs.Length; i++)
        {
            Apply(y, inputs[i]!, y, context.Threads);
        }
        Finish(y, inputs.Length);
    }

    /// <summary>A last step after folding all inputs (Mean divides by their count).</summary>
    protected virtual void Finish(Tensor y, int count)
    {
    }

    private static void Apply(Tensor a, Tensor b, Tensor y, int threads)
    {
        if (y.Data is float[] yf)
        {
            var bf = b.Data as float[] ?? b.ToFloats();
            BinaryBroadcast.Run<float, float, float, FloatRows<TOp>>(a.Floats, a.Shape, bf, b.Shape, yf, y.Shape, threads);
        }
        else
        {
            BinaryBroadcast.Run<long, long, long, LongRows<TOp>>(a.Longs, a.Shape, b.Longs, b.Shape, y.Longs, y.Shape, threads);
        }
    }
}

[OnnxOp("Add")]
public sealed class AddOperator(Node node, OperatorContext context) : ArithmeticOperator<AddOp>(node, context);

[OnnxOp("Sub")]
public sealed class SubOperator(Node node, OperatorContext context) : ArithmeticOperator<SubOp>(node, context);

[OnnxOp("Mul")]
public sealed class MulOperator(Node node, OperatorContext context) : ArithmeticOperator<MulOp>(node, context);

[OnnxOp("Div")]
public sealed class DivOperator(Node node, OperatorContext context) : ArithmeticOperator<DivOp>(node, context);

[OnnxOp("Pow")]
public sealed class PowOperator(Node node, OperatorContext context) : ArithmeticOperator<PowOp>(node, context);

[OnnxOp("Max")]
public sealed class MaxOperator(Node node, OperatorContext context) : ArithmeticOperator<MaxOp>(node, context)
{
    protected override bool Variadic => true;
}

[OnnxOp("Min")]
public sealed class MinOperator(Node node, OperatorContext context) : ArithmeticOperator<MinOp>(node, context)
{
    protected override bool Variadic => true;
}

[OnnxOp("Sum")]
public sealed class SumOperator(Node node, OperatorContext context) : ArithmeticOperator<AddOp>(node, context)
{
    protected override bool Variadic => true;
}

[OnnxOp("Mean")]
public sealed class MeanOperator(Node node, OperatorContext context) : ArithmeticOperator<AddOp>(node, context)
{
    protected override bool Variadic => true;

    protected override void Finish(Tensor y, int count) =>
        System.Numerics.Tensors.TensorPrimitives.Divide(y.Floats, count, y.Floats);

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        base.Run(inputs, outputs, context);
        if (inputs.Length == 2)
        {
            Finish(outputs[0], 2);
        }
    }
}

/// <summary>PRelu: y = x &lt; 0 ? slope·x : x, the slope broadcast to x (per channel as [C,1,1]).</summary>
[OnnxOp("PRelu")]
public sealed class PReluOperator(Node node, OperatorContext context) : ArithmeticOperator<PReluOp>(node, context);

[OnnxOp("And")]
public sealed class AndOperator(Node node, OperatorContext context) : ArithmeticOperator<AndOp>(node, context);

[OnnxOp("Or")]
public sealed class OrOperator(Node node, OperatorContext context) : ArithmeticOperator<OrOp>(node, context);

[OnnxOp("Xor")]
public sealed class XorOperator(Node node, OperatorContext context) : ArithmeticOperator<XorOp>(node, context);
