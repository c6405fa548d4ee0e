using DSConvService.Core.Execution;
using DSConvService.Core.Graph;
using DSConvService.Core.Kernels.DSConv.Reference;
using DSConvService.Core.Quantization.Reference;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Quantization.Simulation;

/// <summary>
/// x̂ = BFP(x) of DESIGN 2.2 as a float tensor (quantize then dequantize), for the simulated
/// quantized network. Input [N, C, H, W] or [N, K]; attributes group, block_size, mantissa_bits,
/// exponent_bits. Computed by <see cref="BfpReference.Simulate"/>, the spec itself.
/// </summary>
[OnnxOp("BfpFakeQuant", Domain = DSConvSimulation.Domain)]
public sealed class BfpFakeQuantOperator : Operator
{
    private readonly int _groups, _blockSize, _mantissaBits, _exponentBits;

    public BfpFakeQuantOperator(Node node, OperatorContext ctx) : base(node)
    {
        _groups = (int)node.GetInt("group", 1);
        _blockSize = (int)node.GetInt("block_size", 32);
        _mantissaBits = (int)node.GetInt("mantissa_bits", 8);
        _exponentBits = (int)node.GetInt("exponent_bits", 8);
    }

    public override TensorDesc[] InferOutputs(TensorDesc?[] inputs)
    {
        var x = Required(inputs, 0);
        if (x.Shape.Length is not (2 or 4) || x.Shape[1] % _groups != 0)
        {
            throw Error($"input must be [N, C, H, W] or [N, K] with C divisible by group {_groups} (got {ShapeUtil.Format(x.Shape)}).");
        }
        return [new TensorDesc(DataType.Float, x.Shape)];
    }

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var s = x.Shape;
        var (h, w) = s.Length == 4 ? (s[2], s[3]) : (1, 1);
        var r = BfpReference.Simulate(x.Floats, s[0], s[1], h, w, _groups, _blockSize, _mantissaBits, _exponentBits);
        r.CopyTo(outputs[0].Floats, 0);
    }
}
