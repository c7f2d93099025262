using System.Net;
using System.Security.Cryptography;
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
        // The worker reopens the file every 50 ms: retry until the folder is in place (a few tries at most).
        var path = Path.Combine(_folder, "deliveries.db");
        for (var attempt = 0; !Directory.Exists(path); attempt++)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(_folder))
            {
                File.Delete(file);
            }

            try
            {
                Directory.CreateDirectory(path);
            }
            catch (IOException) when (attempt < 50)
            {
                // Recreated in between; again.
            }
        }
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
