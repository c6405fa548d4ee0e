using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace DSConvService.TestSupport;

/// <summary>
/// A real PostgreSQL server (the Debian package's binaries) started for the tests on a private port and
/// a temp data directory, as the 'postgres' user when the tests run as root (initdb refuses root).
/// <see cref="Shared"/> serves every test of a run (each takes a database of its own) and stops when the
/// test process exits; a test that restarts the server starts one of its own.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private static readonly Lazy<PostgresServer> SharedServer = new(() => new PostgresServer());
    private readonly string _bin;
    private readonly string _dataDir;
    private readonly string? _runAs;
    private bool _disposed;

    public PostgresServer()
    {
        _bin = FindBinaries() ?? throw new InvalidOperationException(MissingReason);
        _runAs = Environment.UserName == "root" ? "postgres" : null;
        _dataDir = Path.Combine(Path.GetTempPath(), $"dsconv-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dataDir);
        if (_runAs is not null)
        {
            Run("chown", $"{_runAs} {_dataDir}", asServerUser: false);
        }
        Port = FreePort();
        Run(Path.Combine(_bin, "initdb"), $"-D {_dataDir}/db -U postgres --auth=trust -E UTF8 --no-sync", asServerUser: true);
        Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    public static string MissingReason =>
        "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin; `apt-get install postgresql` (.ci/run does).";

    public static bool Available => FindBinaries() is not null;

    /// <summary>The server shared by the tests of this process; skips the test with the reason when PostgreSQL is not installed.</summary>
    public static PostgresServer Shared
    {
        get
        {
            Skip.IfNot(Available, MissingReason);
            return SharedServer.Value;
        }
    }

    public int Port { get; }

    /// <summary>Connection string of the maintenance database.</summary>
    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=10";

    /// <summary>Creates a fresh database and returns its connection string.</summary>
    public string CreateDatabase()
    {
        var name = $"t{Guid.NewGuid():N}";
        Run(Path.Combine(_bin, "psql"), $"-h 127.0.0.1 -p {Port} -U postgres -d postgres -v ON_ERROR_STOP=1 -q -c \"CREATE DATABASE {name}\"", asServerUser: false);
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name};Timeout=10;Command Timeout=30";
    }

    /// <summary>Stops the server at once (as a crash would: no checkpoint), keeping its data.</summary>
    public void Kill() => Run(Path.Combine(_bin, "pg_ctl"), $"-D {_dataDir}/db -m immediate -w stop", asServerUser: true);

    public void Start() =>
        Run(Path.Combine(_bin, "pg_ctl"),
            $"-D {_dataDir}/db -w -t 60 -l {_dataDir}/server.log -o \"-p {Port} -k {_dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200\" start",
            asServerUser: true);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Run(string file, string arguments, bool asServerUser)
    {
        var info = asServerUser && _runAs is not null
            ? new ProcessStartInfo("runuser", $"-u {_runAs} -- {file} {arguments}")
            : new ProcessStartInfo(file, arguments);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = "/";
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Path.GetFileName(file)} did not finish in 120 s.");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {arguments} failed ({process.ExitCode}): {stderr.Result} {stdout.Result}");
        }
    }
}
