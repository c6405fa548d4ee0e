using DSConvService.Core.Tensors;

namespace DSConvService.Core.Graph;

/// <summary>
/// Declared type and shape of a graph value. A dimension is a fixed size (>= 0) or unknown (-1),
/// in which case <see cref="DimNames"/> may name it ("N", "batch").
/// </summary>
public sealed class ValueInfo
{
    public ValueInfo(string name, DataType type, int[]? shape, string?[]? dimNames = null)
    {
        Name = name;
        Type = type;
        Shape = shape;
        DimNames = dimNames ?? (shape is null ? null : new string?[shape.Length]);
    }

    public string Name { get; }
    public DataType Type { get; set; }

    /// <summary>Null when the rank is unknown.</summary>
    public int[]? Shape { get; set; }
    public string?[]? DimNames { get; set; }

    public override string ToString() => $"{Name}: {Type}{(Shape is null ? "[?]" : ShapeUtil.FormatDims(Shape))}";
}
