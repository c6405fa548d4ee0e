namespace DSConvService.Core.Execution;

/// <summary>
/// Registers an <see cref="Operator"/> subclass for one or more ONNX op types. The class needs a
/// constructor (Node node, OperatorContext context).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class OnnxOpAttribute(params string[] opTypes) : Attribute
{
    public string[] OpTypes { get; } = opTypes;

    /// <summary>Operator domain; "" is the default ONNX domain.</summary>
    public string Domain { get; init; } = "";
}
