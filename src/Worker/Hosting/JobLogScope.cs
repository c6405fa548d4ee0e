using System.Collections;

namespace DSConvService.Worker.Hosting;

/// <summary>
/// The log scope of everything a job does: a "JobId" property for structured sinks (Serilog, JSON
/// console) and "job {id}" for plain text.
/// </summary>
public sealed class JobLogScope(string jobId) : IReadOnlyList<KeyValuePair<string, object>>
{
    private readonly KeyValuePair<string, object> _property = new("JobId", jobId);

    public int Count => 1;

    public KeyValuePair<string, object> this[int index] =>
        index == 0 ? _property : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
    {
        yield return _property;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"job {_property.Value}";
}
