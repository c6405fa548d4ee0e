using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Execution;

/// <summary>What an operator may look at when it is created: the model's constants and opset.</summary>
public sealed class OperatorContext(Model model)
{
    public Model Model { get; } = model;
    public long Opset => Model.DefaultOpset;

    /// <summary>
    /// The operators are created to infer shapes and scratch sizes only, never to run: constant weights
    /// are not read (nor packed), so a model whose weights are still in the file stays there.
    /// </summary>
    public bool ShapesOnly { get; init; }

    /// <summary>The initializer feeding input <paramref name="index"/> of a node, or null when it is computed.</summary>
    public Tensor? Constant(Node node, int index) =>
        node.Input(index) is { } name && Model.Graph.Initializers.TryGetValue(name, out var t) ? t : null;
}
