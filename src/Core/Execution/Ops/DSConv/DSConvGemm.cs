using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops.DSConv;

/// <summary>
/// A DSConv-quantized fully connected layer (domain ai.dsconv): Y[N,Nout] = X[N,K]·ŵᵀ + Bias, with
/// Q [Nout, K], Kds [Nout, ceil(K/B)]. X of higher rank is flattened to [N, rest]. Runs as a 1x1 convolution.
/// </summary>
[OnnxOp("DSConvGemm", Domain = "ai.dsconv")]
public sealed class DSConvGemm : Operator
{
    private readonly DSConvEngine _engine;

    public DSConvGemm(Node node, OperatorContext context)
        : base(node)
    {
        var attributes = new DSConvAttributes(node, 2);
        var q = context.Constant(node, 1) ?? throw Error("Q (input 1) must be an initializer.");
        if (q.Rank != 2 || q.Type is not (DataType.Int8 or DataType.Int4))
        {
            throw Error($"Q must be an Int8 or Int4 tensor [Nout, K], got {q}.");
        }
        var format = attributes.Format with { Depthwise = false };
        var weights = DSConvInputs.Weights(this, node, context, q.Shape[0], q.Shape[1], 1, 1, format, DSConvInputs.Codes(q));
        (_outputs, _features) = (weights.O, weights.Cg);
        _engine = new DSConvEngine(weights, 1, attributes.Activation);
    }

    // The layer's geometry (the engine keeps its packed forms, not the weights).
    private readonly int _outputs, _features;

    public DSConvEngine Engine => _engine;

    /// <summary>The code a run with input <paramref name="x"/> takes (for the profile and the plan).</summary>
    public DSConvPath Path(TensorDesc x) => _engine.Path(Shape(x));

    public override TensorDesc[] InferOutputs(TensorDesc?[] inputs)
    {
        var s = Shape(Required(inputs, 0));
        return [new TensorDesc(DataType.Float, [s.N, s.O])];
    }

    public override long ScratchFloats(TensorDesc?[] inputs) => _engine.ScratchFloats(Shape(Required(inputs, 0)));

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        _engine.Run(x.Floats, Shape(TensorDesc.Of(x)), outputs[0].Floats, context.Scratch, context.Threads);
    }

    private ConvShape Shape(TensorDesc x)
    {
        if (x.Shape.Length < 1 || !x.Type.IsFloat())
        {
            throw Error($"X must be a float tensor, got {x}.");
        }
        var n = x.Shape.Length == 1 ? 1 : x.Shape[0];
        var k = x.Shape.Length == 1 ? x.Shape[0] : ShapeUtil.Size(x.Shape) / Math.Max(n, 1);
        if (k != _features)
        {
            throw Error($"X has {k} features per row, Q expects {_features}.");
        }
        return ConvShape.Dense(n, k, _outputs);
    }
}
