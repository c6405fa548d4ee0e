using DSConvService.Core.Graph;

namespace DSConvService.Core.Kernels.Gemm;

public enum ActivationKind
{
    None,
    Relu,
    Clip,
    LeakyRelu,
}

/// <summary>
/// An activation applied in a kernel's epilogue. Read from the node attributes the fusion pass adds
/// (fused_activation = Relu | Clip | LeakyRelu, fused_min, fused_max, fused_alpha).
/// </summary>
public readonly record struct FusedActivation(ActivationKind Kind, float Min = float.NegativeInfinity, float Max = float.PositiveInfinity, float Alpha = 0.01f)
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
            _ => throw new InvalidModelException($"{node.OpType} node '{node.DisplayName}': fused_activation '{name}' is not supported (Relu, Clip, LeakyRelu)."),
        };
    }

    /// <summary>The activation of one value (the scalar definition the vector paths follow).</summary>
    public float Apply(float v) => Kind switch
    {
        ActivationKind.Relu => MathF.Max(v, 0f),
        ActivationKind.Clip => MathF.Min(MathF.Max(v, Min), Max),
        ActivationKind.LeakyRelu => v < 0f ? v * Alpha : v,
        _ => v,
    };
}
