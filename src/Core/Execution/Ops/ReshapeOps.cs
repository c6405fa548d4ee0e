using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Operators that only change the shape: the data is copied unchanged into the output.</summary>
public abstract class ShapeChangeOperator : FoldingOperator
{
    protected ShapeChangeOperator(Node node, OperatorContext context) : base(node, context)
    {
    }

    protected abstract int[] OutputShape(TensorDesc data, TensorDesc?[] inputs);

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        var shape = OutputShape(x, inputs);
        if (ShapeUtil.Size(shape) != ShapeUtil.Size(x.Shape))
        {
            throw Error($"cannot turn {ShapeUtil.Format(x.Shape)} into {ShapeUtil.Format(shape)}.");
        }
        return [new TensorDesc(x.Type, shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context) =>
        Array.Copy(inputs[0]!.Data, outputs[0].Data, outputs[0].Length);
}

/// <summary>Reshape: 0 copies the input dimension (unless allowzero=1), -1 is inferred.</summary>
[OnnxOp("Reshape")]
public sealed class ReshapeOperator(Node node, OperatorContext context) : ShapeChangeOperator(node, context)
{
    protected override int[] OutputShape(TensorDesc data, TensorDesc?[] inputs)
    {
        var target = Node.GetInts("shape") ?? OptionalConstant(inputs, 1, "shape")?.ToLongs() ?? throw Error("shape is required.");
        var allowZero = Node.GetInt("allowzero", 0) != 0;
        var shape = new int[target.Length];
        var inferred = -1;
        long known = 1;
        for (var i = 0; i < target.Length; i++)
        {
            var t = target[i];
            if (t == -1)
            {
                if (inferred >= 0)
                {
                    throw Error("shape has more than one -1.");
                }
                inferred = i;
                continue;
            }
            if (t == 0 && !allowZero)
            {
                if (i >= data.Shape.Length)
                {
                    throw Error($"shape copies dimension {i} (0) but the input has rank {data.Shape.Length}.");
                }
                t = data.Shape[i];
            }
            if (t < 0)
            {
                throw Error($"shape has invalid dimension {t}.");
            }
            shape[i] = (int)t;
            known *= t;
        }
        if (inferred >= 0)
        {
            var total = ShapeUtil.Size(data.Shape);
            if (known == 0 || total % known != 0)
            {
                throw Error($"cannot infer -1 reshaping {ShapeUtil.Format(data.Shape)} to [{string.Join(",", target)}].");
            }
            shape[inferred] = (int)(total / known);
        }
        return shape;
    }
}

/// <summary>Flatten to 2-D at axis (default 1; negative allowed from opset 11).</summary>
[OnnxOp("Flatten")]
public sealed class FlattenOperator(Node node, OperatorContext context) : ShapeChangeOperator(node, context)
{
    protected override int[] OutputShape(TensorDesc data, TensorDesc?[] inputs)
    {
        var rank = data.Shape.Length;
        var axis = Node.GetInt("axis", 1);
        if (axis < 0)
        {
            axis += rank;
        }
        if (axis < 0 || axis > rank)
        {
            throw Error($"axis {Node.GetInt("axis", 1)} is out of range for rank {rank}.");
        }
        var outer = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= data.Shape[i];
        }
        var inner = 1;
        for (var i = (int)axis; i < rank; i++)
        {
            inner *= data.Shape[i];
        }
        return [outer, inner];
    }
}

/// <summary>Squeeze: axes attribute before opset 13, optional input from 13; without axes, all 1s go.</summary>
[OnnxOp("Squeeze")]
public sealed class SqueezeOperator(Node node, OperatorContext context) : ShapeChangeOperator(node, context)
{
    protected override int[] OutputShape(TensorDesc data, TensorDesc?[] inputs)
    {
        var given = Node.GetInts("axes") ?? OptionalConstant(inputs, 1, "axes")?.ToLongs();
        var rank = data.Shape.Length;
        if (given is null)
        {
            return data.Shape.Where(d => d != 1).ToArray();
        }
        var axes = Axes(given, rank);
        foreach (var a in axes)
        {
            if (data.Shape[a] != 1)
            {
                throw Error($"cannot squeeze axis {a} of size {data.Shape[a]}.");
            }
        }
        return data.Shape.Where((_, i) => !axes.Contains(i)).ToArray();
    }
}

/// <summary>Unsqueeze: axes attribute before opset 13, input from 13; axes refer to the output rank.</summary>
[OnnxOp("Unsqueeze")]
public sealed class UnsqueezeOperator(Node node, OperatorContext context) : ShapeChangeOperator(node, context)
{
    protected override int[] OutputShape(TensorDesc data, TensorDesc?[] inputs)
    {
        var given = Node.GetInts("axes") ?? OptionalConstant(inputs, 1, "axes")?.ToLongs() ?? throw Error("axes are required.");
        var rank = data.Shape.Length + given.Length;
        var axes = Axes(given, rank);
        var shape = new int[rank];
        var src = 0;
        for (var i = 0; i < rank; i++)
        {
            shape[i] = axes.Contains(i) ? 1 : data.Shape[src++];
        }
        return shape;
    }
}

[OnnxOp("Identity")]
public sealed class IdentityOperator(Node node, OperatorContext context) : ShapeChangeOperator(node, context)
{
    protected override int[] OutputShape(TensorDesc data, TensorDesc?[] inputs) => data.Shape;
}

/// <summary>
/// Dropout in inference: the identity. The optional mask is all true from opset 12; before that
/// ONNX Runtime (the reference) returns it all false, and so do we.
/// </summary>
[OnnxOp("Dropout")]
public sealed class DropoutOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        if (inputs.Length > 2 && inputs[2]?.Constant is { } training && training.ToLongs()[0] != 0)
        {
            throw Error("training_mode=true is not supported (inference only).");
        }
        var y = new TensorDesc(x.Type, x.Shape);
        if (Node.Outputs.Count < 2)
        {
            return [y];
        }
        var mask = Tensor.Zeros(DataType.Bool, x.Shape);
        Array.Fill(mask.Longs, Opset >= 12 ? 1L : 0L);
        return [y, new TensorDesc(DataType.Bool, x.Shape, mask)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context) =>
        Array.Copy(inputs[0]!.Data, outputs[0].Data, outputs[0].Length);
}
