namespace DSConvService.Core.Errors;

/// <summary>Options are malformed or out of range; each entry of <see cref="Errors"/> names its field.</summary>
public sealed class InvalidOptionsException(IReadOnlyList<string> errors)
    : InputException("Invalid options: " + string.Join(" ", errors))
{
    public InvalidOptionsException(string error) : this([error])
    {
    }

    public IReadOnlyList<string> Errors { get; } = errors;
}
