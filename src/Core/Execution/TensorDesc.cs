using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution;

/// <summary>What planning knows of a value: its type, its concrete shape and, when constant, its data.</summary>
public sealed record TensorDesc(DataType Type, int[] Shape, Tensor? Constant = null)
{
    public static TensorDesc Of(Tensor t) => new(t.Type, t.Shape, t);
    public bool IsConstant => Constant is not null;
    public override string ToString() => $"{Type}{ShapeUtil.Format(Shape)}{(IsConstant ? " const" : "")}";
}
