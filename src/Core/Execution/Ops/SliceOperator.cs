using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.Movement;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Slice: starts/ends/axes attributes before opset 10, inputs (starts, ends, [axes], [steps]) from 10.
/// Out-of-range bounds are clamped as numpy does; negative steps walk backwards.
/// </summary>
[OnnxOp("Slice")]
public sealed class SliceOperator(Node node, OperatorContext context) : FoldingOperator(node, context)
{
    private (int Offset, int[] Shape, int[] Strides) Resolve(int[] shape, Tensor?[] p)
    {
        var starts = IntsFromAttributeOrInput(p, "starts", 1) ?? throw Error("starts are required.");
        var ends = IntsFromAttributeOrInput(p, "ends", 2) ?? throw Error("ends are required.");
        var axes = IntsFromAttributeOrInput(p, "axes", 3) ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = (p.Length > 4 ? p[4]?.ToLongs() : null) ?? Enumerable.Repeat(1L, starts.Length).ToArray();
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
        {
            throw Error("starts, ends, axes and steps must have the same length.");
        }
        var rank = shape.Length;
        var srcStrides = ShapeUtil.Strides(shape);
        var outShape = (int[])shape.Clone();
        var strides = (int[])srcStrides.Clone();
        var offset = 0;
        for (var i = 0; i < starts.Length; i++)
        {
            var axis = Axis(axes[i], rank);
            long dim = shape[axis];
            var step = steps[i];
            if (step == 0)
            {
                throw Error("steps cannot be 0.");
            }
            var start = starts[i] < 0 ? starts[i] + dim : starts[i];
            var end = ends[i] < 0 ? ends[i] + dim : ends[i];
            long count;
            if (step > 0)
            {
                start = Math.Clamp(start, 0, dim);
                end = Math.Clamp(end, 0, dim);
                count = Math.Max(0, (end - start + step - 1) / step);
            }
            else
            {
                start = Math.Clamp(start, 0, dim - 1);
                end = Math.Clamp(end, -1, dim - 1);
                count = Math.Max(0, (start - end + (-step) - 1) / -step);
            }
            outShape[axis] = (int)count;
            if (count > 0)
            {
                offset += (int)start * srcStrides[axis];
            }
            strides[axis] = (int)step * srcStrides[axis];
        }
        return (offset, outShape, strides);
    }

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs)
    {
        var x = Input(inputs, 0);
        for (var i = 1; i < inputs.Length; i++)
        {
            OptionalConstant(inputs, i, i switch { 1 => "starts", 2 => "ends", 3 => "axes", _ => "steps" });
        }
        return [new TensorDesc(x.Type, Resolve(x.Shape, Constants(inputs)).Shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var (offset, shape, strides) = Resolve(x.Shape, inputs);
        TypedArrays.Dispatch(x.Data, outputs[0].Data, new StridedCopyAction(offset, shape, strides, context.Threads));
    }
}
