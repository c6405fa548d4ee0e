namespace DSConvService.Core.Execution;

public sealed class SessionOptions
{
    /// <summary>Threads for operator kernels; defaults to the machine's cores.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Run the graph passes (constant folding, BN folding, fusion) when the session is created.</summary>
    public bool Optimize { get; init; } = true;
}
