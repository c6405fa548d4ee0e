using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>Shape of the input as Int64, optionally the dims [start, end) (opset 15; clamped, negatives from the end).</summary>
[OnnxOp("Shape")]
public sealed class ShapeOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var shape = Input(inputs, 0).Shape;
        var rank = shape.Length;
        long Clamp(long v) => Math.Clamp(v < 0 ? v + rank : v, 0, rank);
        var start = (int)Clamp(Node.GetInt("start", 0));
        var end = (int)Clamp(Node.GetInt("end", rank));
        var dims = shape.Skip(start).Take(Math.Max(0, end - start)).Select(d => (long)d).ToArray();
        var t = Tensor.FromLongs([dims.Length], dims);
        return [TensorDesc.Of(t)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        // Planning already filled the output (it is a constant).
    }
}

/// <summary>Constant from 'value' (a tensor), 'value_float(s)' or 'value_int(s)'.</summary>
[OnnxOp("Constant")]
public sealed class ConstantOperator : FoldingOperator
{
    private readonly Tensor _value;

    public ConstantOperator(Node node, OperatorContext context) : base(node, context)
    {
        var a = node.Attributes;
        _value = a.TryGetValue("value", out var v) && v.Tensor is { } t ? t
            : a.TryGetValue("value_float", out v) ? Tensor.Scalar(v.Float)
            : a.TryGetValue("value_floats", out v) ? Tensor.FromFloats([v.Floats.Length], v.Floats)
            : a.TryGetValue("value_int", out v) ? Tensor.Scalar(v.Int)
            : a.TryGetValue("value_ints", out v) ? Tensor.FromLongs([v.Ints.Length], v.Ints)
            : throw new UnsupportedOperatorException("Constant", node.DisplayName,
                "only the value, value_float(s) and value_int(s) attributes are supported");
    }

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs) => [TensorDesc.Of(_value)];

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
    }
}

/// <summary>ConstantOfShape: a tensor of the (constant) shape filled with 'value' (default float 0).</summary>
[OnnxOp("ConstantOfShape")]
public sealed class ConstantOfShapeOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var dims = OptionalConstant(inputs, 0, "shape")?.ToLongs() ?? throw Error("shape is required.");
        if (dims.Any(d => d < 0))
        {
            throw Error($"shape [{string.Join(",", dims)}] has negative dimensions.");
        }
        var value = Node.Attributes.TryGetValue("value", out var a) && a.Tensor is { } t ? t : Tensor.Scalar(0f);
        var y = Tensor.Zeros(value.Type, dims.Select(d => (int)d).ToArray());
        if (y.Length > 0)
        {
            switch (y.Data)
            {
                case float[] f:
                    Array.Fill(f, value.ToFloats()[0]);
                    break;
                case long[] l:
                    Array.Fill(l, value.ToLongs()[0]);
                    break;
                case sbyte[] s:
                    Array.Fill(s, (sbyte)value.ToLongs()[0]);
                    break;
                case byte[] b:
                    Array.Fill(b, (byte)value.ToLongs()[0]);
                    break;
            }
        }
        return [TensorDesc.Of(y)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
    }
}

/// <summary>Range(start, limit, delta): max(ceil((limit - start) / delta), 0) values; its inputs must be constants.</summary>
[OnnxOp("Range")]
public sealed class RangeOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var start = OptionalConstant(inputs, 0, "start") ?? throw Error("start is required.");
        var limit = OptionalConstant(inputs, 1, "limit") ?? throw Error("limit is required.");
        var delta = OptionalConstant(inputs, 2, "delta") ?? throw Error("delta is required.");
        var d = delta.ToFloats()[0];
        if (d == 0)
        {
            throw Error("delta cannot be 0.");
        }
        var count = start.Type.IsFloat()
            ? (int)Math.Max(Math.Ceiling((limit.ToFloats()[0] - start.ToFloats()[0]) / (double)d), 0)
            : (int)Math.Max(Math.Ceiling((limit.ToLongs()[0] - start.ToLongs()[0]) / (double)delta.ToLongs()[0]), 0);
        return [new TensorDesc(start.Type, [count])];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var y = outputs[0];
        if (y.Data is float[] f)
        {
            var s = inputs[0]!.ToFloats()[0];
            var d = inputs[2]!.ToFloats()[0];
            for (var i = 0; i < f.Length; i++)
            {
                f[i] = s + i * d;
            }
        }
        else
        {
            var l = y.Longs;
            var s = inputs[0]!.ToLongs()[0];
            var d = inputs[2]!.ToLongs()[0];
            for (var i = 0; i < l.Length; i++)
            {
                l[i] = s + i * d;
            }
        }
    }
}
