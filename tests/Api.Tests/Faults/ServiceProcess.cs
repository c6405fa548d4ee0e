using System.Diagnostics;

namespace DSConvService.Api.Tests.Faults;

/// <summary>
/// The Api or a worker as a real child process (`dotnet X.dll --Key value …`), its output appended to
/// one log file across restarts; <see cref="Kill"/> is SIGKILL (kill -9): no shutdown code runs.
/// </summary>
internal sealed class ServiceProcess(string name, string dll, IReadOnlyDictionary<string, string> settings, string logPath, string? workingDirectory = null) : IDisposable
{
    private readonly Lock _logGate = new();
    private Process? _process;

    public string Name { get; } = name;

    public int Starts { get; private set; }

    public int Kills { get; private set; }

    public bool Running => _process is { HasExited: false };

    public void Start()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var (key, value) in settings)
        {
            info.ArgumentList.Add($"--{key}");
            info.ArgumentList.Add(value);
        }
        info.Environment["DOTNET_gcServer"] = "0";
        info.Environment["DOTNET_TieredPGO"] = "0";
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        Starts++;
    }

    /// <summary>kill -9 and wait until the process is gone.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: false);
            p.WaitForExit(10_000);
            Kills++;
        }
    }

    public string Log()
    {
        lock (_logGate)
        {
            return File.Exists(logPath) ? File.ReadAllText(logPath) : "";
        }
    }

    public IEnumerable<string> LogLines() => Log().Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_logGate)
        {
            File.AppendAllText(logPath, line + "\n");
        }
    }
}
