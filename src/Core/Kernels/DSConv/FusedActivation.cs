namespace DSConvService.Core.Kernels.DSConv;

public enum ActivationKind
{
    None,
    Relu,
    Clip,
    LeakyRelu,
}

/// <summary>An activation fused into a layer's epilogue (node attributes fused_activation/fused_min/fused_max/fused_alpha).</summary>
public readonly record struct FusedActivation(ActivationKind Kind, float Min, float Max, float Alpha)
{
    public static FusedActivation None => new(ActivationKind.None, 0, 0, 0);

    public float Apply(float v) => Kind switch
    {
        ActivationKind.Relu => v > 0 ? v : 0,
        ActivationKind.Clip => Math.Min(Math.Max(v, Min), Max),
        ActivationKind.LeakyRelu => v >= 0 ? v : v * Alpha,
        _ => v,
    };

    public void Apply(Span<float> values)
    {
        if (Kind == ActivationKind.None)
        {
            return;
        }
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Apply(values[i]);
        }
    }
}
