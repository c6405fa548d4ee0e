namespace DSConvService.Core.Tests.Architecture;

/// <summary>Which namespaces of one assembly use which, and the cycles among them.</summary>
internal sealed class NamespaceGraph
{
    /// <summary>namespace → namespace it uses → one example (user type → used type).</summary>
    private readonly Dictionary<string, Dictionary<string, string>> _edges = new();
    private readonly List<string> _all = [];

    /// <param name="unit">Maps a type's namespace to the unit compared (e.g. the first segment below the root), null to leave it out.</param>
    public NamespaceGraph(System.Reflection.Assembly assembly, Func<string, string?> unit)
    {
        foreach (var type in assembly.GetTypes().Where(t => t.DeclaringType is null))
        {
            if (unit(type.Namespace ?? "") is not { } from)
            {
                continue;
            }
            foreach (var used in TypeReferences.Of(type))
            {
                if (used.Assembly != assembly || unit(used.Namespace ?? "") is not { } to || to == from)
                {
                    continue;
                }
                var targets = _edges.TryGetValue(from, out var t) ? t : _edges[from] = new Dictionary<string, string>();
                targets.TryAdd(to, $"{type.FullName} → {used.FullName}");
                _all.Add($"{from} → {to}: {type.FullName} → {used.FullName}");
            }
        }
    }

    public IEnumerable<string> Uses(string from) => _edges.TryGetValue(from, out var t) ? t.Keys : [];

    /// <summary>Every type-level use between units, one line each (for reading the graph).</summary>
    public IEnumerable<string> Edges() => _all.Order();

    /// <summary>Every pair of units that reach each other, with an example edge each way along the path.</summary>
    public IReadOnlyList<string> Cycles()
    {
        var cycles = new List<string>();
        var units = _edges.Keys.Concat(_edges.Values.SelectMany(v => v.Keys)).Distinct().Order().ToList();
        foreach (var a in units)
        {
            foreach (var b in units.Where(b => string.CompareOrdinal(a, b) < 0))
            {
                if (Path(a, b) is { } there && Path(b, a) is { } back)
                {
                    cycles.Add($"{a} ↔ {b}: {string.Join("; ", there)} || {string.Join("; ", back)}");
                }
            }
        }
        return cycles;
    }

    /// <summary>The example edges of a shortest path from one unit to another, or null.</summary>
    private List<string>? Path(string from, string to)
    {
        var previous = new Dictionary<string, string> { [from] = from };
        var queue = new Queue<string>([from]);
        while (queue.Count > 0)
        {
            var n = queue.Dequeue();
            if (n == to)
            {
                var steps = new List<string>();
                for (var at = to; at != from; at = previous[at])
                {
                    steps.Insert(0, _edges[previous[at]][at]);
                }
                return steps;
            }
            foreach (var next in Uses(n).Where(next => !previous.ContainsKey(next)))
            {
                previous[next] = n;
                queue.Enqueue(next);
            }
        }
        return null;
    }
}
