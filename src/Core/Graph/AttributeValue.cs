using DSConvService.Core.Tensors;

namespace DSConvService.Core.Graph;

public enum AttributeKind
{
    Float,
    Int,
    String,
    Tensor,
    Graph,
    Floats,
    Ints,
    Strings,
}

/// <summary>A node attribute; only the member named by <see cref="Kind"/> is meaningful.</summary>
public sealed class AttributeValue
{
    public AttributeKind Kind { get; init; }
    public float Float { get; init; }
    public long Int { get; init; }
    public string String { get; init; } = "";
    public Tensor? Tensor { get; init; }
    public Graph? Graph { get; init; }
    public float[] Floats { get; init; } = [];
    public long[] Ints { get; init; } = [];
    public string[] Strings { get; init; } = [];

    public static AttributeValue Of(long v) => new() { Kind = AttributeKind.Int, Int = v };
    public static AttributeValue Of(float v) => new() { Kind = AttributeKind.Float, Float = v };
    public static AttributeValue Of(string v) => new() { Kind = AttributeKind.String, String = v };
    public static AttributeValue Of(long[] v) => new() { Kind = AttributeKind.Ints, Ints = v };
    public static AttributeValue Of(float[] v) => new() { Kind = AttributeKind.Floats, Floats = v };
    public static AttributeValue Of(Tensor v) => new() { Kind = AttributeKind.Tensor, Tensor = v };
}
