using DSConvService.Core.Errors;

namespace DSConvService.Core.Graph;

/// <summary>The model cannot be read or run as given; the message says why in words a user can act on.</summary>
public class InvalidModelException(string message, Exception? inner = null) : InputException(message, inner);

/// <summary>The model uses an operator (or an operator form) this engine does not implement.</summary>
public sealed class UnsupportedOperatorException(string opType, string nodeName, string? detail = null)
    : InvalidModelException($"Operator '{opType}' (node '{nodeName}') is not supported{(detail is null ? "" : ": " + detail)}.")
{
    public string OpType { get; } = opType;
    public string NodeName { get; } = nodeName;
}
