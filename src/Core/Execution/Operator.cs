using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;
using DSConvService.Core.Threading;

namespace DSConvService.Core.Execution;

/// <summary>
/// An executable operator bound to one node. Instances are created once per session (so weights
/// can be packed in the constructor) and must be safe to run concurrently from several plans:
/// per-call state lives in the output tensors and the scratch span, never in fields.
/// </summary>
public abstract class Operator
{
    protected Operator(Node node) => Node = node;

    public Node Node { get; }

    /// <summary>
    /// Shape and type inference for concrete input shapes; throws <see cref="InvalidModelException"/>
    /// naming the node when the inputs do not fit. Missing optional inputs are null.
    /// </summary>
    public abstract TensorDesc[] InferOutputs(TensorDesc?[] inputs);

    /// <summary>Floats of scratch memory <see cref="Run"/> needs for these input shapes (planned once).</summary>
    public virtual long ScratchFloats(TensorDesc?[] inputs) => 0;

    /// <summary>
    /// Computes the outputs into the preallocated tensors (shapes as inferred).
    /// Missing optional inputs are null.
    /// </summary>
    public abstract void Run(Tensor?[] inputs, Tensor[] outputs, RunContext context);

    protected InvalidModelException Error(string message) => new($"{Node.OpType} node '{Node.DisplayName}': {message}");

    protected TensorDesc Required(TensorDesc?[] inputs, int i) =>
        i < inputs.Length && inputs[i] is { } d ? d : throw Error($"input {i} is required.");

    /// <summary>The constant value of an input that must be known at planning time (shape-like inputs).</summary>
    protected Tensor ConstantInput(TensorDesc?[] inputs, int i, string what) =>
        Required(inputs, i).Constant ?? throw Error($"{what} (input {i}) must be a constant or computable from shapes; data-dependent {what} is not supported.");
}

/// <summary>Per-run resources handed to <see cref="Operator.Run"/>.</summary>
public sealed class RunContext
{
    public RunContext(int threads, float[] scratch)
    {
        Threads = threads;
        Scratch = scratch;
    }

    /// <summary>Worker threads an operator may use (see <see cref="CpuParallel"/>).</summary>
    public int Threads { get; }

    /// <summary>Scratch memory shared by all operators of a plan (one runs at a time).</summary>
    public float[] Scratch { get; }
}
