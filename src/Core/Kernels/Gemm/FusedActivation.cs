using DSConvService.Core.Graph;

namespace DSConvService.Core.Kernels.Gemm;

public enum ActivationKind
{
    None,
    Relu,
    Clip,
    LeakyRelu,

    /// <summary>1 / (1 + e^−x).</summary>
    Sigmoid,

    /// <summary>x · sigmoid(x) (SiLU, Swish).</summary>
    Silu,

    /// <summary>clamp(α·x + β, 0, 1).</summary>
    HardSigmoid,

    /// <summary>x · clamp(α·x + β, 0, 1) (ONNX HardSwish is α = 1/6, β = 1/2).</summary>
    HardSwish,
}

/// <summary>
/// An activation applied in a kernel's epilogue. Read from the node attributes the fusion pass adds
/// (fused_activation = Relu | Clip | LeakyRelu | Sigmoid | Silu | HardSigmoid | HardSwish, fused_min, fused_max,
/// fused_alpha, fused_beta).
/// </summary>
public readonly record struct FusedActivation(ActivationKind Kind, float Min = float.NegativeInfinity, float Max = float.PositiveInfinity, float Alpha = 0.01f, float Beta = 0f)
{
    public static FusedActivation None => new(ActivationKind.None);
    public static FusedActivation Relu => new(ActivationKind.Relu);

    /// <summary>Parses the fused_* attributes; throws <see cref="InvalidModelException"/> on an unknown activation.</summary>
    public static FusedActivation FromNode(Node node)
    {
        var name = node.GetString("fused_activation", "");
        return name switch
        {
            "" => None,
            "Relu" => Relu,
            "Clip" => new(ActivationKind.Clip, node.GetFloat("fused_min", float.NegativeInfinity), node.GetFloat("fused_max", float.PositiveInfinity)),
            "LeakyRelu" => new(ActivationKind.LeakyRelu, Alpha: node.GetFloat("fused_alpha", 0.01f)),
            "Sigmoid" => new(ActivationKind.Sigmoid),
            "Silu" => new(ActivationKind.Silu),
            "HardSigmoid" => new(ActivationKind.HardSigmoid, Alpha: node.GetFloat("fused_alpha", 0.2f), Beta: node.GetFloat("fused_beta", 0.5f)),
            "HardSwish" => new(ActivationKind.HardSwish, Alpha: node.GetFloat("fused_alpha", 1f / 6f), Beta: node.GetFloat("fused_beta", 0.5f)),
            _ => throw new InvalidModelException($"{node.OpType} node '{node.DisplayName}': fused_activation '{name}' is not supported (Relu, Clip, LeakyRelu, Sigmoid, Silu, HardSigmoid, HardSwish)."),
        };
    }

    /// <summary>
    /// True for activations that are a few vector instructions (no exp): a micro-kernel can apply them to its
    /// accumulators before storing; Sigmoid and SiLU call the vector exp, which would spill every accumulator.
    /// </summary>
    public bool IsPiecewiseLinear => Kind is not (ActivationKind.Sigmoid or ActivationKind.Silu);

    /// <summary>The activation of one value (the scalar definition the vector paths follow).</summary>
    public float Apply(float v) => Kind switch
    {
        ActivationKind.Relu => MathF.Max(v, 0f),
        ActivationKind.Clip => MathF.Min(MathF.Max(v, Min), Max),
        ActivationKind.LeakyRelu => v < 0f ? v * Alpha : v,
        ActivationKind.Sigmoid => 1f / (1f + MathF.Exp(-v)),
        ActivationKind.Silu => v / (1f + MathF.Exp(-v)),
        ActivationKind.HardSigmoid => Math.Clamp(Alpha * v + Beta, 0f, 1f),
        ActivationKind.HardSwish => v * Math.Clamp(Alpha * v + Beta, 0f, 1f),
        _ => v,
    };
}
