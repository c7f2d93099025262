using System.Diagnostics;
using Npgsql;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// A real PostgreSQL server for the tests (no mocks, no container): the one <c>.ci/run</c> starts
/// (<c>GATEWAY_TEST_POSTGRES</c>, an admin connection string), or else a throw-away cluster of Debian's
/// <c>postgresql</c> package started here (<c>initdb</c> in a temp folder, a free loopback port, as the
/// <c>postgres</c> user when run as root) and stopped afterwards. Each test gets a database of its own.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string EnvironmentVariable = "GATEWAY_TEST_POSTGRES";
    private string? _folder;
    private string? _binaries;
    private int _counter;
    private int _port;

    public string AdminConnectionString { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } given)
        {
            AdminConnectionString = given;
            return;
        }

        await StartClusterAsync();
    }

    /// <summary>A cluster of this test's own (never the shared one of <c>.ci/run</c>), so the test may stop and start it.</summary>
    public static async Task<PostgresServer> StartOwnAsync()
    {
        var server = new PostgresServer();
        await server.StartClusterAsync();
        return server;
    }

    /// <summary>Stops the server the way a crash or a failover does (<c>pg_ctl stop -m immediate</c>).</summary>
    public Task StopImmediatelyAsync() =>
        RunPostgresAsync(Environment.UserName == "root", "pg_ctl", ["-D", Path.Combine(_folder!, "data"), "-m", "immediate", "-w", "stop"]);

    /// <summary>Starts the stopped server again on the same port (it recovers from its WAL).</summary>
    public Task StartAgainAsync() => PgCtlStartAsync();

    private async Task StartClusterAsync()
    {
        _binaries = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            : null;
        if (_binaries is null)
        {
            throw new InvalidOperationException(
                $"PostgreSQL is needed: install Debian's 'postgresql' package (bash .ci/run does), or set {EnvironmentVariable} to an admin connection string.");
        }

        _folder = Directory.CreateTempSubdirectory("gateway-pg-").FullName;
        _port = Ports.Closed();
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", ["-R", "postgres:postgres", _folder]);
        }

        await RunPostgresAsync(Environment.UserName == "root", "initdb", ["-D", Path.Combine(_folder, "data"), "-A", "trust", "-U", "postgres", "--no-sync"]);
        await PgCtlStartAsync();
        AdminConnectionString = $"Host=127.0.0.1;Port={_port};Username=postgres;Pooling=false";
    }

    private Task PgCtlStartAsync() =>
        RunPostgresAsync(Environment.UserName == "root", "pg_ctl", ["-D", Path.Combine(_folder!, "data"), "-l", Path.Combine(_folder!, "log"), "-w", "-t", "60",
            "-o", $"-p {_port} -k {_folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]);

    public async Task DisposeAsync()
    {
        if (_folder is null)
        {
            return;
        }

        try
        {
            await StopImmediatelyAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped (a restart test that failed half-way): nothing to stop.
        }

        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>A new, empty database; its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"gateway_test_{Environment.ProcessId}_{Interlocked.Increment(ref _counter)}_{Guid.NewGuid():N}"[..40];
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    private Task RunPostgresAsync(bool asRoot, string tool, IReadOnlyList<string> args) =>
        asRoot ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_binaries!, tool), .. args])
            : RunAsync(Path.Combine(_binaries!, tool), args);

    private static async Task RunAsync(string file, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await output} {await error}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresFixtureGroup : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
