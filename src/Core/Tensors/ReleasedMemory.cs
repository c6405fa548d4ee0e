using System.Runtime;

namespace DSConvService.Core.Tensors;

/// <summary>
/// Hands large released buffers back at once. A run over a big model reads one layer's fp32 weight at a time
/// and drops it, and drops each engine session when its stage is done; every such buffer is on the large-object
/// heap, which only a full collection frees, and with free memory to spare the GC lets hundreds of MB of them pile
/// up first (a 243 MiB model peaked near twice its weights). A full compacting collection once
/// <see cref="Threshold"/> bytes were released keeps the peak near the live data. Models below the threshold
/// never trigger one.
/// </summary>
/// <param name="threshold">Bytes released before a collection.</param>
/// <param name="compact">False: the collections free the buffers without compacting (cheaper; for a loop that releases
/// buffers of the sizes it allocates next, which the freed space fits).</param>
public sealed class ReleasedMemory(long threshold = ReleasedMemory.DefaultThreshold, bool compact = true)
{
    public const long DefaultThreshold = 64L << 20;

    private long _pending;

    public long Threshold { get; } = threshold;

    /// <summary>Counts <paramref name="bytes"/> as garbage now; collects when the count reaches the threshold.</summary>
    public void Released(long bytes)
    {
        _pending += bytes;
        if (_pending >= Threshold)
        {
            Collect();
        }
    }

    /// <summary><see cref="CollectNow"/>, and the count starts again.</summary>
    public void Collect()
    {
        _pending = 0;
        if (compact)
        {
            CollectNow();
        }
        else
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        }
    }

    /// <summary>
    /// A blocking full collection that compacts the large-object heap once (between the stages of a big run). It runs
    /// the finalizers first: a dropped engine session was seen to survive one full collection (something that still
    /// reached it waited for finalization) and to go only with a second one, so one collection left its packed kernels
    /// beside the next stage's session.
    /// </summary>
    public static void CollectNow()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}
