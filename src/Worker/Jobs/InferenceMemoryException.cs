using DSConvService.Core.Execution;

namespace DSConvService.Worker.Jobs;

/// <summary>One run of the model would need more memory for its values than Limits:MaxInferenceMemoryBytes allows.</summary>
public sealed class InferenceMemoryException(ActivationMemory memory, long limit) : Exception(
    $"One run of the model needs about {memory.PlanBytes:N0} bytes for its values, more than Limits:MaxInferenceMemoryBytes " +
    $"({limit:N0}). The largest is tensor '{memory.LargestTensor}' of shape [{string.Join(",", memory.LargestShape)}] " +
    $"({memory.LargestBytes:N0} bytes) from node '{memory.LargestNode}'. Use a smaller input size or fewer channels.")
{
    public ActivationMemory Memory { get; } = memory;
}
