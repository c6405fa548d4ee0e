namespace DSConvService.Core.Execution.Ops;

/// <summary>When an operator splits its work over threads: below this many elements the hand-off costs more than it saves.</summary>
internal static class ParallelPolicy
{
    public const int MinElements = 1 << 16;

    public static int Threads(int elements, int threads) => elements >= MinElements ? threads : 1;
}
