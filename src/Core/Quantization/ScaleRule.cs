namespace DSConvService.Core.Quantization;

/// <summary>How VQK picks a block's scale (DESIGN 2.1, option <c>scale</c>).</summary>
public enum ScaleRule
{
    /// <summary>The paper's rule: the element of largest magnitude lands on the most negative code.</summary>
    Max,

    /// <summary>Per block, the clip of w* (a ratio ≤ 1) that minimises ‖w − ξ·q‖² with the least-squares ξ.</summary>
    Mse,
}

public static class ScaleRuleNames
{
    public const string Max = "max";
    public const string Mse = "mse";

    public static string Name(this ScaleRule rule) => rule == ScaleRule.Mse ? Mse : Max;

    public static ScaleRule? Parse(string? name) => name switch
    {
        Max => ScaleRule.Max,
        Mse => ScaleRule.Mse,
        _ => null,
    };
}
