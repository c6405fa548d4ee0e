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
/// Stopping is reliable: Dispose and a process-exit hook stop it, and a detached watchdog stops it and
/// removes its data directory when the owning process is gone without either (kill -9, a crashed test
/// host). Leftovers of runs the watchdog could not clean (a reboot) are removed by the next server.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private static readonly Lazy<PostgresServer> SharedServer = new(() => new PostgresServer());
    private readonly string _bin;
    private readonly string _dataDir;
    private readonly string? _runAs;
    private const string DirectoryPrefix = "dsconv-pg-";
    private const string OwnerFile = "owner.pid";
    private readonly Process? _watchdog;
    private bool _disposed;

    /// <summary>Starts a server that lives at most as long as the process <paramref name="ownerProcessId"/> (default: this one).</summary>
    public PostgresServer(int? ownerProcessId = null)
    {
        _bin = FindBinaries() ?? throw new InvalidOperationException(MissingReason);
        _runAs = Environment.UserName == "root" ? "postgres" : null;
        RemoveLeftovers();
        _dataDir = Path.Combine(Path.GetTempPath(), $"{DirectoryPrefix}{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dataDir);
        var owner = ownerProcessId ?? Environment.ProcessId;
        File.WriteAllText(Path.Combine(_dataDir, OwnerFile), owner.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_runAs is not null)
        {
            Run("chown", $"{_runAs} {_dataDir}", asServerUser: false);
        }
        Port = FreePort();
        Run(Path.Combine(_bin, "initdb"), $"-D {_dataDir}/db -U postgres --auth=trust -E UTF8 --no-sync", asServerUser: true);
        Start();
        _watchdog = StartWatchdog(owner);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    /// <summary>The server's own folder (cluster, socket, log); gone once the server is stopped for good.</summary>
    public string DataDirectory => _dataDir;

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
        try
        {
            _watchdog?.Kill();
            _watchdog?.Dispose();
        }
        catch (InvalidOperationException)
        {
            // it has ended
        }
    }

    /// <summary>
    /// A shell loop outside this process (its own session, so a signal to the test's process group does
    /// not reach it) that waits for the owner to disappear, then stops the server and deletes its folder.
    /// </summary>
    private Process StartWatchdog(int owner)
    {
        var stop = $"{ServerUserPrefix()}{Path.Combine(_bin, "pg_ctl")} -D {_dataDir}/db -m immediate -w stop";
        var script = $"while [ -d /proc/{owner} ]; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {_dataDir}";
        var info = new ProcessStartInfo("setsid", ["sh", "-c", script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = "/",
        };
        return Process.Start(info)!;
    }

    private string ServerUserPrefix() => _runAs is null ? "" : $"runuser -u {_runAs} -- ";

    /// <summary>Stops and removes servers of earlier runs whose owner process no longer exists.</summary>
    private void RemoveLeftovers()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var ownerFile = Path.Combine(dir, OwnerFile);
            if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), out var owner) || Directory.Exists($"/proc/{owner}"))
            {
                continue;
            }
            try
            {
                if (File.Exists(Path.Combine(dir, "db", "postmaster.pid")))
                {
                    Run(Path.Combine(_bin, "pg_ctl"), $"-D {dir}/db -m immediate -w stop", asServerUser: true);
                }
            }
            catch (InvalidOperationException)
            {
                // not running
            }
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
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
