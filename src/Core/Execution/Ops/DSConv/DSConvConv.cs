using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops.DSConv;

/// <summary>
/// A DSConv-quantized convolution (domain ai.dsconv). Inputs: X, Q [O,Cg,kh,kw] (Int8/Int4 held as sbyte),
/// Kds, [Bias], [KdsBias], [CdsScale], [CdsBias]; the weights must be initializers and are packed here, once.
/// Inside sessions, <see cref="Passes.ResidualFusion"/> may add input 7, a tensor of the output's shape added
/// before the fused activation (attribute fused_residual = 1): y = act(conv + bias + residual); and
/// <see cref="Passes.GateFusion"/> input 8, a squeeze-and-excitation gate [N, C or 1, 1, 1] the input is multiplied by
/// (attribute fused_gate = 1): y = conv(x · gate).
/// </summary>
[OnnxOp("DSConvConv", Domain = "ai.dsconv")]
public sealed class DSConvConv : Operator
{
    private readonly DSConvAttributes _attributes;
    private readonly DSConvEngine _engine;
    private readonly bool _residual;
    private readonly bool _gated;

    public DSConvConv(Node node, OperatorContext context)
        : base(node)
    {
        _attributes = new DSConvAttributes(node, 2);
        var q = context.Constant(node, 1) ?? throw Error("Q (input 1) must be an initializer.");
        if (q.Rank != 4 || q.Type is not (DataType.Int8 or DataType.Int4))
        {
            throw Error($"Q must be an Int8 or Int4 tensor [O, Cg, kh, kw], got {q}.");
        }
        var weights = DSConvInputs.Weights(this, node, context, q.Shape[0], q.Shape[1], q.Shape[2], q.Shape[3], _attributes.Format, DSConvInputs.Codes(q));
        if (weights.O % _attributes.Group != 0)
        {
            throw Error($"{weights.O} output channels are not divisible by group {_attributes.Group}.");
        }
        _residual = node.GetInt(Passes.ResidualFusion.Attribute, 0) != 0;
        if (_residual && node.Input(Passes.ResidualFusion.InputIndex) is null)
        {
            throw Error($"{Passes.ResidualFusion.Attribute} is set but input {Passes.ResidualFusion.InputIndex} is missing.");
        }
        _gated = node.GetInt(Passes.GateFusion.Attribute, 0) != 0;
        if (_gated && node.Input(Passes.GateFusion.InputIndex) is null)
        {
            throw Error($"{Passes.GateFusion.Attribute} is set but input {Passes.GateFusion.InputIndex} is missing.");
        }
        (_o, _cg, _kh, _kw) = (weights.O, weights.Cg, weights.KH, weights.KW);
        _engine = new DSConvEngine(weights, _attributes.Group, _attributes.Activation, residual: _residual);
    }

    // The layer's geometry (the engine keeps its packed forms, not the weights).
    private readonly int _o, _cg, _kh, _kw;

    /// <summary>The integer engine of this layer (for tests and benchmarks).</summary>
    public DSConvEngine Engine => _engine;

    /// <summary>The code a run with input <paramref name="x"/> takes (for the profile and the plan).</summary>
    public DSConvPath Path(TensorDesc x) => _engine.Path(Shape(x));

    public override TensorDesc[] InferOutputs(TensorDesc?[] inputs)
    {
        var shape = Shape(Required(inputs, 0)).OutputShape();
        if (_residual)
        {
            var r = Required(inputs, Passes.ResidualFusion.InputIndex);
            if (!r.Type.IsFloat() || !r.Shape.SequenceEqual(shape))
            {
                throw Error($"The fused residual must be a float tensor [{string.Join(", ", shape)}], got {r}.");
            }
        }
        if (_gated)
        {
            var x = Required(inputs, 0).Shape;
            var gate = Required(inputs, Passes.GateFusion.InputIndex);
            if (!gate.Type.IsFloat() || gate.Shape.Length != 4 || gate.Shape[0] != x[0] || (gate.Shape[1] != x[1] && gate.Shape[1] != 1)
                || gate.Shape[2] != 1 || gate.Shape[3] != 1)
            {
                throw Error($"The fused gate must be a float tensor [{x[0]}, {x[1]} or 1, 1, 1], got {gate}.");
            }
        }
        return [new TensorDesc(DataType.Float, shape)];
    }

    public override long ScratchFloats(TensorDesc?[] inputs) => _engine.ScratchFloats(Shape(Required(inputs, 0)));

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var residual = _residual ? inputs[Passes.ResidualFusion.InputIndex]!.Floats : null;
        var gate = _gated ? inputs[Passes.GateFusion.InputIndex]!.Floats : null;
        _engine.Run(x.Floats, Shape(TensorDesc.Of(x)), outputs[0].Floats, context.Scratch, context.Threads, residual, gate);
    }

    private ConvShape Shape(TensorDesc x)
    {
        if (x.Shape.Length != 4 || !x.Type.IsFloat())
        {
            throw Error($"X must be a float tensor [N, C, H, W], got {x}.");
        }
        var c = x.Shape[1];
        if (c != _cg * _attributes.Group)
        {
            throw Error($"X has {c} channels, the weights expect {_cg} x group {_attributes.Group}.");
        }
        return _attributes.Resolve(Node, x.Shape[0], c, x.Shape[2], x.Shape[3], _o, _kh, _kw);
    }
}

internal static class ConvShapeExtensions
{
    public static int[] OutputShape(this ConvShape s) => [s.N, s.O, s.OH, s.OW];
}
