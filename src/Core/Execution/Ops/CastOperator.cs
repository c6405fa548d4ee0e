using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution.Ops;

/// <summary>
/// Cast to the type 'to'. Float → integer truncates toward zero (as C++ static_cast), anything → Bool
/// is (x != 0), Float16/BFloat16 targets round the value to that precision (it stays held as float).
/// </summary>
[OnnxOp("Cast")]
public sealed class CastOperator : FoldingOperator
{
    private readonly DataType _to;

    public CastOperator(Node node, OperatorContext context) : base(node, context)
    {
        _to = (DataType)node.GetInt("to", 0);
        try
        {
            _ = _to.Storage();
        }
        catch (NotSupportedException)
        {
            throw new UnsupportedOperatorException("Cast", node.DisplayName, $"casting to {_to} is not supported");
        }
    }

    protected override TensorDesc[] InferShapes(TensorDesc?[] inputs) => [new TensorDesc(_to, Input(inputs, 0).Shape)];

    public override void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context)
    {
        var x = inputs[0]!;
        var y = outputs[0];
        if (x.Data is float[] xf)
        {
            switch (y.Data)
            {
                case float[] f:
                    for (var i = 0; i < f.Length; i++)
                    {
                        f[i] = _to switch
                        {
                            DataType.Float16 => (float)(Half)xf[i],
                            DataType.BFloat16 => RoundToBFloat16(xf[i]),
                            _ => xf[i],
                        };
                    }
                    break;
                case long[] l:
                    for (var i = 0; i < l.Length; i++)
                    {
                        l[i] = _to == DataType.Bool ? (xf[i] != 0 ? 1 : 0) : Wrap(float.IsNaN(xf[i]) ? 0 : (long)xf[i]);
                    }
                    break;
                case sbyte[] s:
                    for (var i = 0; i < s.Length; i++)
                    {
                        s[i] = (sbyte)(long)xf[i];
                    }
                    break;
                case byte[] b:
                    for (var i = 0; i < b.Length; i++)
                    {
                        b[i] = (byte)(long)xf[i];
                    }
                    break;
            }
            return;
        }
        var xl = x.ToLongs();
        switch (y.Data)
        {
            case float[] f:
                for (var i = 0; i < f.Length; i++)
                {
                    f[i] = _to == DataType.Float16 ? (float)(Half)xl[i] : xl[i];
                }
                break;
            case long[] l:
                for (var i = 0; i < l.Length; i++)
                {
                    l[i] = _to == DataType.Bool ? (xl[i] != 0 ? 1 : 0) : Wrap(xl[i]);
                }
                break;
            case sbyte[] s:
                for (var i = 0; i < s.Length; i++)
                {
                    s[i] = (sbyte)xl[i];
                }
                break;
            case byte[] b:
                for (var i = 0; i < b.Length; i++)
                {
                    b[i] = (byte)xl[i];
                }
                break;
        }
    }

    /// <summary>Narrow integer targets keep only their own bits (two's complement wrap-around).</summary>
    private long Wrap(long v) => _to switch
    {
        DataType.Int32 => (int)v,
        DataType.UInt32 => (uint)v,
        DataType.Int16 => (short)v,
        DataType.UInt16 => (ushort)v,
        _ => v,
    };

    private static float RoundToBFloat16(float v)
    {
        if (float.IsNaN(v))
        {
            return v;
        }
        var bits = BitConverter.SingleToUInt32Bits(v);
        bits += 0x7FFFu + ((bits >> 16) & 1);
        return BitConverter.UInt32BitsToSingle(bits & 0xFFFF0000u);
    }
}
