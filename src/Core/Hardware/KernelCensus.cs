using System.Collections.Concurrent;

namespace DSConvService.Core.Hardware;

/// <summary>
/// Counts which code each kernel ran: (kernel, level) → calls, e.g. ("BfpPacker", "scalar"). Attached to a
/// <see cref="CpuCapabilities"/> value by tests that must prove a forced run took the fallback everywhere;
/// the kernels record once per call (not per element), and only when a census is attached.
/// </summary>
public sealed class KernelCensus
{
    private readonly ConcurrentDictionary<(string Kernel, string Level), long> _calls = new();

    public void Ran(string kernel, string level) => _calls.AddOrUpdate((kernel, level), 1, (_, n) => n + 1);

    /// <summary>A snapshot of the counts.</summary>
    public IReadOnlyDictionary<(string Kernel, string Level), long> Calls => new Dictionary<(string, string), long>(_calls);

    /// <summary>Every kernel that ran, with the levels it ran at.</summary>
    public IReadOnlyDictionary<string, string[]> Levels =>
        _calls.Keys.GroupBy(k => k.Kernel).ToDictionary(g => g.Key, g => g.Select(k => k.Level).Distinct().Order().ToArray());

    public override string ToString() =>
        string.Join(", ", _calls.OrderBy(p => p.Key.Kernel).ThenBy(p => p.Key.Level).Select(p => $"{p.Key.Kernel}/{p.Key.Level}×{p.Value}"));
}
