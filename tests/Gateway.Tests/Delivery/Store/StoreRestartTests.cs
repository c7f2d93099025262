using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// The store going away under a running gateway, for real: PostgreSQL stopped with <c>pg_ctl stop -m immediate</c> and
/// started again; SQLite's filesystem full (a size-limited tmpfs, where the machine lets the test mount one) and its file
/// made unwritable. Each time: events OCP® takes are still forwarded and <c>/readyz</c> says Degraded, events it does not
/// take are answered 503 (never 202), the keys of forwarded events are written once the store is back, and parking resumes.
/// </summary>
public sealed class StoreRestartTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-store-restart-").FullName;
    private readonly List<Func<Task>> _cleanUp = [];
    private readonly System.Collections.Concurrent.ConcurrentBag<string> _parked = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var step in Enumerable.Reverse(_cleanUp))
        {
            await step();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Environment.UserName == "root")
        {
            // A test that failed between chattr +i and -i must not leave an undeletable folder behind.
            await TryRunAsync("chattr", "-R", "-i", _folder);
        }

        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task PostgreSQL_stopped_immediately_and_started_again_under_a_running_gateway()
    {
        var server = await PostgresServer.StartOwnAsync();
        _cleanUp.Add(server.DisposeAsync);
        var database = await server.CreateDatabaseAsync();
        using var host = Host(StoreAndForwardTests.Settings(_folder, "Postgres", database));
        Assert.True(await ParksAsync(host), "the store did not park before PostgreSQL was stopped");

        await server.StopImmediatelyAsync();
        var outcome = await WhileTheStoreIsAwayAsync(host);
        await server.StartAgainAsync();
        Assert.True(await Eventually.HoldsAsync(async () => await ParksAsync(host), TimeSpan.FromSeconds(30)), "not parking again after PostgreSQL came back");

        await AfterTheStoreIsBackAsync(host, outcome, () => KeyStoredInPostgresAsync(database, outcome.Key));
    }

    [Fact]
    public async Task SQLite_on_a_full_filesystem()
    {
        // A 4 MB tmpfs for the file, filled up after the store has started; where the test may not mount one, the store's
        // file made unwritable instead (the other way SQLite refuses writes), so the test never silently does less.
        var disk = Path.Combine(_folder, "disk");
        Directory.CreateDirectory(disk);
        var mounted = await TryRunAsync("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk);
        if (mounted)
        {
            _cleanUp.Add(async () => await TryRunAsync("umount", "-l", disk));
        }

        var file = Path.Combine(disk, "deliveries.db");
        using var host = Host(StoreAndForwardTests.Settings(_folder, connectionString: $"Data Source={file};Pooling=False"));
        Assert.True(await ParksAsync(host), "the store did not park before the disk filled up");

        var filler = Path.Combine(disk, "filler");
        if (mounted)
        {
            await FillAsync(filler);
        }
        else
        {
            await MakeUnwritableAsync(disk);
        }

        var outcome = await WhileTheStoreIsAwayAsync(host);
        if (mounted)
        {
            File.Delete(filler);
        }
        else
        {
            await MakeWritableAsync(disk);
        }

        Assert.True(await Eventually.HoldsAsync(async () => await ParksAsync(host), TimeSpan.FromSeconds(30)), "not parking again after space came back");
        await AfterTheStoreIsBackAsync(host, outcome, () => Task.FromResult(StoreOutageTests.KeyStored(file, outcome.Key)));
    }

    [Fact]
    public async Task SQLite_file_made_read_only()
    {
        var folder = Path.Combine(_folder, "store");
        var file = Path.Combine(folder, "deliveries.db");
        using var host = Host(StoreAndForwardTests.Settings(_folder, connectionString: $"Data Source={file};Pooling=False"));
        Assert.True(await ParksAsync(host), "the store did not park before the file was made read-only");

        await MakeUnwritableAsync(folder);
        var outcome = await WhileTheStoreIsAwayAsync(host);
        await MakeWritableAsync(folder);

        Assert.True(await Eventually.HoldsAsync(async () => await ParksAsync(host), TimeSpan.FromSeconds(30)), "not parking again after the file was writable again");
        await AfterTheStoreIsBackAsync(host, outcome, () => Task.FromResult(StoreOutageTests.KeyStored(file, outcome.Key)));
    }

    private static GatewayHost Host(Dictionary<string, string?> settings)
    {
        settings["Logging:LogLevel:OcpTalkdesk.Gateway.Delivery"] = "Debug";
        // Parked events stay parked (OCP® answers 503 for them) until the test has looked.
        settings["Gateway:Delivery:RetrySchedule:0"] = "00:10:00";
        settings["Gateway:Delivery:Breaker:Enabled"] = "false";
        return GatewayHost.Create(settings, services: s => s.AddLogging(l => l.AddFakeLogging().SetMinimumLevel(LogLevel.Debug)));
    }

    /// <summary>One event while OCP® refuses it: true when it was parked (202).</summary>
    private async Task<bool> ParksAsync(GatewayHost host)
    {
        StoreAndForwardTests.OcpAnswers(host, 503, keepLog: true);
        return await SendRefusedAsync(host) == HttpStatusCode.Accepted;
    }

    /// <summary>An event on a new conversation that OCP® refuses; a 202 is remembered, to be found held at the end.</summary>
    private async Task<HttpStatusCode> SendRefusedAsync(GatewayHost host)
    {
        var conversation = "refused-" + Guid.NewGuid().ToString("N");
        var answer = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event(conversation, conversation + "-1")));
        if (answer.StatusCode == HttpStatusCode.Accepted)
        {
            _parked.Add(conversation);
        }

        return answer.StatusCode;
    }

    private sealed record AwayOutcome(byte[] Body, string Key, int OcpCallsBefore);

    /// <summary>While the store is away: forwarded when OCP® takes it, 503 (never 202) when it does not, and /readyz says so.</summary>
    private async Task<AwayOutcome> WhileTheStoreIsAwayAsync(GatewayHost host)
    {
        var client = host.CreateClient();
        // The first writes may still land (SQLite's WAL may have room, a pooled connection may still answer): until
        // one is refused, what is answered 202 is kept, which the test checks after the store is back.
        StoreAndForwardTests.OcpAnswers(host, 503, keepLog: true);
        Assert.True(await Eventually.HoldsAsync(async () => await SendRefusedAsync(host) == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30)),
            "an event OCP® refused was never answered 503 while the store was away");
        // Readiness follows the store's last operation: a worker round that only read (a full or read-only file still
        // answers reads) can say "healthy" between a refused park and this request, so a refused park and an unready
        // /readyz are asked for together until they come back to back.
        HttpResponseMessage unready = new(HttpStatusCode.OK);
        Assert.True(await Eventually.HoldsAsync(async () =>
            await SendRefusedAsync(host) == HttpStatusCode.ServiceUnavailable
            && (unready = await host.CreateAnonymousClient().GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30)),
            "/readyz never said unavailable right after a refused park while the store was away");

        StoreAndForwardTests.OcpAnswers(host, 200, keepLog: true);
        var body = StoreAndForwardTests.Event("forwarded-while-away", "f-1");
        var forwarded = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        var degraded = await host.CreateAnonymousClient().GetAsync("/readyz");
        var resend = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, unready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, forwarded.StatusCode);
        Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
        Assert.Contains("\"status\":\"Degraded\"", await degraded.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, resend.StatusCode);
        Assert.Contains("\"status\":\"delivered\"", await resend.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        return new AwayOutcome(body, Convert.ToHexStringLower(SHA256.HashData(body)), host.Ocp.LogEntries.Count);
    }

    /// <summary>Back: the forwarded event's key is written, its resend is answered (not delivered again), one warning each way.</summary>
    private async Task AfterTheStoreIsBackAsync(GatewayHost host, AwayOutcome outcome, Func<Task<bool>> keyStored)
    {
        Assert.True(await Eventually.HoldsAsync(keyStored, TimeSpan.FromSeconds(30)), "the key of the event forwarded while the store was away was not written");
        StoreAndForwardTests.OcpAnswers(host, 200, keepLog: true);
        var resend = await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(outcome.Body));
        Assert.True(await Eventually.HoldsAsync(async () => (await host.CreateAnonymousClient().GetAsync("/readyz")).StatusCode == HttpStatusCode.OK), "not ready after the store came back");

        Assert.Equal(HttpStatusCode.OK, resend.StatusCode);
        Assert.Contains("\"status\":\"delivered\"", await resend.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(host.Ocp.LogEntries, e => e.RequestMessage.BodyAsBytes!.SequenceEqual(outcome.Body));
        var records = host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot()
            .Where(r => r.Category?.StartsWith("OcpTalkdesk.Gateway.Delivery", StringComparison.Ordinal) == true).ToList();
        Assert.Single(records, r => r.Id.Id == 6002 && r.Level == LogLevel.Warning);
        Assert.Single(records, r => r.Id.Id == 6012 && r.Level == LogLevel.Warning);
        Assert.DoesNotContain(records, r => r.Level >= LogLevel.Error);
        // Every event answered 202, before, during or after the outage, is held: none was answered without its commit.
        var held = (await StoreAndForwardTests.ListAsync(host, "pending", limit: 1000)).Select(e => e.GetProperty("conversationId").GetString()).ToHashSet();
        Assert.NotEmpty(_parked);
        Assert.All(_parked, conversation => Assert.Contains(conversation, held));
    }

    private static async Task<bool> KeyStoredInPostgresAsync(string connectionString, string key)
    {
        try
        {
            await using var connection = new Npgsql.NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand("SELECT COUNT(*) FROM ocp_event_keys WHERE idempotency_key = @k", connection);
            command.Parameters.AddWithValue("k", key);
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) == 1;
        }
        catch (Npgsql.NpgsqlException)
        {
            return false;
        }
    }

    /// <summary>Writes zeros until the filesystem has no room left (ENOSPC).</summary>
    private static async Task FillAsync(string filler)
    {
        var chunk = new byte[64 * 1024];
        await using var stream = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough);
        try
        {
            while (true)
            {
                await stream.WriteAsync(chunk);
                await stream.FlushAsync();
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }

    /// <summary>
    /// The store's folder and files made unwritable: <c>chmod a-w</c>, and as root (which chmod does not stop) the
    /// immutable attribute too. The folder first: SQLite deletes its <c>-wal</c> and <c>-shm</c> files when its last
    /// connection closes (the tests run without pooling), so a file listed before the folder is frozen can be gone by the
    /// time chattr reaches it (chattr then exits 1 having frozen the rest). Once the folder is frozen no file in it can be
    /// created or removed, and the list taken after it is the list chattr sees.
    /// </summary>
    private static async Task MakeUnwritableAsync(string folder)
    {
        var (tool, flag) = Environment.UserName == "root" ? ("chattr", "+i") : ("chmod", "a-w");
        Assert.True(await TryRunAsync(tool, flag, folder), $"{tool} {flag} failed on the store's folder: the test cannot make the store unwritable here");
        var files = Directory.GetFiles(folder);
        Assert.NotEmpty(files);
        Assert.True(await TryRunAsync(tool, [flag, .. files]), $"{tool} {flag} failed on the store's files: the test cannot make the store unwritable here");
    }

    private static async Task MakeWritableAsync(string folder)
    {
        if (Environment.UserName == "root")
        {
            Assert.True(await TryRunAsync("chattr", ["-i", folder, .. Directory.GetFiles(folder)]), "chattr -i failed");
            return;
        }

        Assert.True(await TryRunAsync("chmod", ["u+w", folder, .. Directory.GetFiles(folder)]), "chmod u+w failed");
    }

    private static async Task<bool> TryRunAsync(string file, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            await process.WaitForExitAsync();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
