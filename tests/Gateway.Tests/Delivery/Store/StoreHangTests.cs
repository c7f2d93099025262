using System.Net;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// A shared store that hangs (PostgreSQL, for real: a lock that every read or write of a table waits for) does not hold
/// live events: past <c>LookupTimeout</c> an event goes to OCP® without the store's answer, past <c>ParkTimeout</c> one
/// OCP® refused is answered 503 (not kept, in time to be sent again), as when the store fails, and the gateway carries
/// on once the store answers again.
/// </summary>
[Collection(PostgresFixtureGroup.Name)]
public sealed class StoreHangTests(PostgresServer server)
{
    [Fact]
    public async Task A_lookup_the_store_does_not_answer_in_time_lets_the_event_go_to_ocp_and_a_resend_is_still_recognised_after()
    {
        var database = await server.CreateDatabaseAsync();
        var settings = StoreAndForwardTests.Settings(Path.GetTempPath(), "Postgres", database);
        settings["Gateway:Delivery:LookupTimeout"] = "00:00:01"; // the driver's timeout counts whole seconds
        using var host = GatewayHost.Create(settings);
        StoreAndForwardTests.OcpAnswers(host, 200);
        var client = host.CreateClient();
        var first = StoreAndForwardTests.Event("H", "h-1");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(first))).StatusCode);

        HttpStatusCode during;
        await using (await LockAsync(database, "ocp_event_keys"))
        {
            // Bounded so that a gateway waiting for the store fails here rather than at HttpClient's 100 s.
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            during = (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("H", "h-2")), bound.Token)).StatusCode;
        }

        // The lock is gone with its connection: the first event's resend is answered from its key, not delivered again.
        var resend = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(first));

        Assert.Equal(HttpStatusCode.OK, during);
        Assert.Equal(HttpStatusCode.OK, resend.StatusCode);
        Assert.Contains("\"delivered\"", await resend.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, StoreAndForwardTests.Delivered(host).Count);
    }

    [Fact]
    public async Task A_park_the_store_does_not_answer_in_time_is_answered_503_in_time_and_the_next_one_is_kept()
    {
        var database = await server.CreateDatabaseAsync();
        var settings = StoreAndForwardTests.Settings(Path.GetTempPath(), "Postgres", database);
        settings["Gateway:Delivery:LookupTimeout"] = "00:00:01";
        settings["Gateway:Delivery:ParkTimeout"] = "00:00:01";
        settings["Gateway:Delivery:RetrySchedule:0"] = "00:10:00";
        using var host = GatewayHost.Create(settings);
        StoreAndForwardTests.OcpAnswers(host, 503);
        var client = host.CreateClient();
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("P", "p-1")))).StatusCode);

        HttpResponseMessage during;
        await using (await LockAsync(database, "ocp_deliveries"))
        {
            // Bounded below Npgsql's own 30 s, which the park waited before ParkTimeout.
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            during = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("Q", "q-1")), bound.Token);
        }

        var after = await client.PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("Q", "q-2")));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);
        Assert.Contains("urn:ocp-gateway:problem:delivery-store-unavailable", await during.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, after.StatusCode);
        // Kept: the first and the last; the one answered 503 is not (its batch rolled back).
        var kept = (await StoreAndForwardTests.ListAsync(host, "pending")).Select(e => e.GetProperty("conversationId").GetString()).Order().ToList();
        Assert.Equal(["P", "Q"], kept);
    }

    /// <summary>A connection holding an ACCESS EXCLUSIVE lock on <paramref name="table"/> until it is disposed.</summary>
    private static async Task<Npgsql.NpgsqlConnection> LockAsync(string database, string table)
    {
        var holder = new Npgsql.NpgsqlConnection(database);
        await holder.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", holder);
        await command.ExecuteNonQueryAsync();
        return holder;
    }
}
