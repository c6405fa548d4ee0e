using DSConvService.Worker.Blobs;
using DSConvService.Worker.Hosting;
using DSConvService.Worker.Pipeline.Engine;
using Microsoft.Extensions.Options;

namespace DSConvService.Api.Inference;

/// <summary>
/// Loaded quantized models by job id, at most Inference:CacheSize of them (least recently used go).
/// A model is loaded once even when many requests ask for it at the same moment.
/// </summary>
public sealed class ModelCache(IQuantizationEngine engine, IBlobStore blobs, IOptions<InferenceOptions> options)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Id, Lazy<IInferenceModel> Model)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Id, Lazy<IInferenceModel> Model)> _recency = new();

    public IInferenceModel Get(string jobId)
    {
        Lazy<IInferenceModel> lazy;
        lock (_gate)
        {
            if (_entries.TryGetValue(jobId, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                lazy = node.Value.Model;
                ServiceMetrics.ModelCacheLookups.WithLabels("hit").Inc();
            }
            else
            {
                ServiceMetrics.ModelCacheLookups.WithLabels("miss").Inc();
                lazy = new Lazy<IInferenceModel>(() => Load(jobId));
                _entries[jobId] = _recency.AddFirst((jobId, lazy));
                while (_entries.Count > Math.Max(1, options.Value.CacheSize))
                {
                    var last = _recency.Last!;
                    _recency.RemoveLast();
                    _entries.Remove(last.Value.Id);
                }
            }
        }
        try
        {
            return lazy.Value;
        }
        catch
        {
            Evict(jobId);
            throw;
        }
    }

    /// <summary>
    /// Loads the artifact from the blob store's local file (the file itself, or a copy spooled to disk and deleted after
    /// the load): read structurally, never as one array. Sync, as it runs inside the Lazy.
    /// </summary>
    private IInferenceModel Load(string jobId)
    {
        using var local = blobs.OpenLocalAsync(jobId, BlobKind.Artifact).GetAwaiter().GetResult();
        return engine.LoadForInference(local.Path, options.Value.Threads);
    }

    public void Evict(string jobId)
    {
        lock (_gate)
        {
            if (_entries.Remove(jobId, out var node))
            {
                _recency.Remove(node);
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }
}
