namespace DSConvService.Core.Execution;

public sealed class SessionOptions
{
    /// <summary>Threads for operator kernels; defaults to the machine's cores.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Run the graph passes (constant folding, BN folding, fusion) when the session is created.</summary>
    public bool Optimize { get; init; } = true;

    /// <summary>
    /// Values share buffers once their last reader has run (the default). Off gives every value its own
    /// buffer, which only a benchmark comparing the two needs.
    /// </summary>
    public bool ReuseBuffers { get; init; } = true;

    /// <summary>
    /// With several threads, a batch of a graph that keeps each image to itself runs as its images, each thread taking
    /// whole images (the default; see <see cref="InferenceSession"/>). Off runs every batch whole, each operator split
    /// over the threads; only a benchmark comparing the two needs it.
    /// </summary>
    public bool ImageParallel { get; init; } = true;

    /// <summary>Tests only: outputs filled with garbage before each operator runs (see <see cref="ExecutionPlan"/>).</summary>
    internal bool PoisonOutputs { get; init; }
}
