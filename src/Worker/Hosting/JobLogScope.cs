using System.Collections;

namespace DSConvService.Worker.Hosting;

/// <summary>
/// The log scope of everything a job does: "JobId" and "Worker" properties for structured sinks
/// (Serilog, JSON console) and "job {id} on {worker}" for plain text.
/// </summary>
public sealed class JobLogScope(string jobId, string workerId) : IReadOnlyList<KeyValuePair<string, object>>
{
    private readonly KeyValuePair<string, object>[] _properties = [new("JobId", jobId), new("Worker", workerId)];

    public int Count => _properties.Length;

    public KeyValuePair<string, object> this[int index] => _properties[index];

    public IEnumerator<KeyValuePair<string, object>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object>>)_properties).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"job {_properties[0].Value} on {_properties[1].Value}";
}
