using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>A store that fails while the gateway runs (a real SQLite failure: its file replaced by a folder).</summary>
public sealed class StoreFailureTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-broken-store-").FullName;
    private readonly GatewayHost _host;

    public StoreFailureTests()
    {
        // No connection pool: a pooled connection would keep writing to the replaced file's old inode.
        _host = GatewayHost.Create(StoreAndForwardTests.Settings(_folder, connectionString: $"Data Source={Path.Combine(_folder, "deliveries.db")};Pooling=False"));
        using var started = _host.CreateClient();
        StoreOutageTests.Break(_folder, Path.Combine(_folder, "aside"));
    }

    public void Dispose()
    {
        _host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task With_ocp_up_events_still_go_straight_through()
    {
        StoreAndForwardTests.OcpAnswers(_host, 200);

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("S", "s-1")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(_host.Ocp.LogEntries);
    }

    [Fact]
    public async Task With_ocp_down_too_talkdesk_gets_503_never_a_202_and_readiness_fails()
    {
        StoreAndForwardTests.OcpAnswers(_host, 503);

        var response = await _host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("S", "s-2")));
        var ready = await _host.CreateClient().GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("urn:ocp-gateway:problem:delivery-store-unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("delivery-store", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

public sealed class IdempotencyKeyTests
{
    [Fact]
    public async Task In_direct_mode_every_forwarded_event_carries_the_sha256_of_its_bytes_as_idempotency_key()
    {
        using var host = new GatewayHost();
        StoreAndForwardTests.OcpAnswers(host, 200);
        var body = StoreAndForwardTests.Event("K", "k-1");

        await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        await host.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        var keys = host.Ocp.LogEntries.Select(e => e.RequestMessage.Headers!["Idempotency-Key"].Single()).ToList();
        Assert.Equal(2, keys.Count);
        Assert.All(keys, key => Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), key));
    }
}

/// <summary>
/// A store outage and its end as the operator sees them: readiness Degraded while OCP® takes events, one Warning
/// when the store goes and one when it is back (each failure only at Debug), parking again afterwards.
/// </summary>
public sealed class StoreOutageTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-store-outage-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private string Database => Path.Combine(_folder, "deliveries.db");

    /// <summary>
    /// Moves the store's files in <paramref name="folder"/> to <paramref name="aside"/> and puts a folder where the file
    /// was: every open then fails (a real SQLite failure). The worker reopens the file every 50 ms, so this retries until
    /// the folder is in place (a few tries at most).
    /// </summary>
    internal static void Break(string folder, string aside)
    {
        var database = Path.Combine(folder, "deliveries.db");
        Directory.CreateDirectory(aside);
        for (var attempt = 0; !Directory.Exists(database); attempt++)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(folder))
            {
                try
                {
                    File.Move(file, Path.Combine(aside, Path.GetFileName(file)), overwrite: true);
                }
                catch (FileNotFoundException)
                {
                    // The -wal or -shm file went away as the last connection to the file closed: nothing to move.
                }
            }

            try
            {
                Directory.CreateDirectory(database);
            }
            catch (IOException) when (attempt < 50)
            {
                // The worker opened the file again in between; again.
            }
        }
    }

    private void Repair(string aside)
    {
        Directory.Delete(Database);
        foreach (var file in Directory.GetFiles(aside))
        {
            // Over whatever the worker's reopen created in between (an empty file where the folder was): the store's own
            // files are put back as they were.
            File.Move(file, Path.Combine(_folder, Path.GetFileName(file)), overwrite: true);
        }
    }

    private Dictionary<string, string?> Settings()
    {
        var settings = StoreAndForwardTests.Settings(_folder, connectionString: $"Data Source={Database};Pooling=False");
        settings["Logging:LogLevel:OcpTalkdesk.Gateway.Delivery"] = "Debug";
        return settings;
    }

    private static async Task<(HttpStatusCode Status, string Body)> ReadyAsync(GatewayHost host)
    {
        var answer = await host.CreateAnonymousClient().GetAsync("/readyz");
        return (answer.StatusCode, await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_store_outage_is_degraded_while_ocp_takes_events_logged_once_each_way_and_parking_resumes_after()
    {
        var settings = Settings();
        using var host = GatewayHost.Create(settings,
            services: s => s.AddLogging(l => l.AddFakeLogging().SetMinimumLevel(LogLevel.Debug)));
        var client = host.CreateClient();
        var aside = Path.Combine(_folder, "aside");
        StoreAndForwardTests.OcpAnswers(host, 200);
        Break(_folder, aside);

        var forwarded = new List<(HttpStatusCode Status, string Body)>();
        for (var i = 0; i < 5; i++)
        {
            var answer = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("O" + i, "o-" + i)));
            forwarded.Add((answer.StatusCode, await answer.Content.ReadAsStringAsync()));
        }

        var degraded = await ReadyAsync(host);
        StoreAndForwardTests.OcpAnswers(host, 503);
        var refused = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("P", "p-1")));
        var unready = await ReadyAsync(host);

        Assert.All(forwarded, s => Assert.True(s.Status == HttpStatusCode.OK, s.Body));
        Assert.Equal(HttpStatusCode.OK, degraded.Status);
        Assert.Contains("\"status\":\"Degraded\"", degraded.Body, StringComparison.Ordinal);
        Assert.Contains("none can be parked", degraded.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unready.Status);

        Repair(aside);
        Assert.True(await Eventually.HoldsAsync(async () => (await ReadyAsync(host)).Status == HttpStatusCode.OK), "not ready after the store came back");
        var parked = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("Q", "q-1")));
        Assert.Equal(HttpStatusCode.Accepted, parked.StatusCode);

        var records = host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot()
            .Where(r => r.Category?.StartsWith("OcpTalkdesk.Gateway.Delivery", StringComparison.Ordinal) == true).ToList();
        Assert.Single(records, r => r.Id.Id == 6002 && r.Level == LogLevel.Warning);
        Assert.Single(records, r => r.Id.Id == 6012 && r.Level == LogLevel.Warning);
        Assert.DoesNotContain(records, r => r.Level >= LogLevel.Error);
        var failures = records.Where(r => r.Id.Id == 6013).ToList();
        Assert.True(failures.Count >= 2, "each failure is logged at Debug");
        Assert.All(failures, r => Assert.True(r.Level == LogLevel.Debug && r.Exception is not null));
    }

    [Fact]
    public async Task The_key_of_an_event_forwarded_while_the_store_is_away_is_kept_and_written_when_it_is_back()
    {
        var settings = Settings();
        using var host = GatewayHost.Create(settings, services: s => s.AddLogging(l => l.AddFakeLogging().SetMinimumLevel(LogLevel.Debug)));
        var client = host.CreateClient();
        var aside = Path.Combine(_folder, "aside");
        StoreAndForwardTests.OcpAnswers(host, 200);
        Break(_folder, aside);
        // Stamped five minutes ago: older than what the SQLite store keeps in its own memory, so only the key writer knows it.
        var body = StoreAndForwardTests.Event("late", "l-1", DateTimeOffset.UtcNow.AddMinutes(-5));
        var key = Convert.ToHexStringLower(SHA256.HashData(body));

        var first = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        Assert.True(await Eventually.HoldsAsync(() => host.Services.GetRequiredService<FakeLogCollector>().GetSnapshot()
            .Any(r => r.Id.Id == 6013 && r.Message.Contains("record keys", StringComparison.Ordinal))), "the key write did not fail");
        var resendWhileAway = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Repair(aside);
        Assert.True(await Eventually.HoldsAsync(() => KeyStored(key)), "the key was not written when the store came back");
        var resendAfter = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, resendWhileAway.StatusCode);
        Assert.Contains("\"status\":\"delivered\"", await resendWhileAway.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, resendAfter.StatusCode);
        Assert.Single(host.Ocp.LogEntries);
    }

    private bool KeyStored(string key) => KeyStored(Database, key);

    /// <summary>Whether the SQLite file has the key (false while the file cannot be read).</summary>
    internal static bool KeyStored(string file, string key)
    {
        try
        {
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM ocp_event_keys WHERE idempotency_key = $k";
            command.Parameters.AddWithValue("$k", key);
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1;
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return false;
        }
    }
}
