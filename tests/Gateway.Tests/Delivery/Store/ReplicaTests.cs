using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OcpTalkdesk.Gateway.Delivery;
using OcpTalkdesk.Gateway.Tests.Integration;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>Several gateway instances on one PostgreSQL store, for real.</summary>
[Collection(PostgresFixtureGroup.Name)]
public sealed class ReplicaTests(PostgresServer server)
{
    private static Dictionary<string, string?> Settings(string connectionString)
    {
        var settings = StoreAndForwardTests.Settings(Path.GetTempPath(), "Postgres", connectionString);
        settings["Gateway:Delivery:LeaseDuration"] = "00:00:03";
        settings["Gateway:Delivery:AttemptBudget"] = "00:00:02"; // less than the short lease
        return settings;
    }

    [Fact]
    public async Task An_event_parked_by_one_replica_is_delivered_by_another()
    {
        var database = await server.CreateDatabaseAsync();
        using var first = GatewayHost.Create(Settings(database));
        StoreAndForwardTests.OcpAnswers(first, 503);

        var parked = await first.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("R", "r-1")));
        Assert.Equal(HttpStatusCode.Accepted, parked.StatusCode);
        first.Dispose();

        using var second = GatewayHost.Create(Settings(database));
        StoreAndForwardTests.OcpAnswers(second, 200);
        // The in-process host starts with its first client; its redelivery worker with it.
        using var started = second.CreateClient();

        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(second).Count == 1), "the second replica did not deliver");
    }

    [Fact]
    public async Task With_ocp_failing_a_resend_to_another_replica_is_answered_from_its_key_and_kept_once()
    {
        // With the breaker open a replica parks without looking the key up first (PostgreSQL: no memory of keys); the
        // park checks it in its own transaction.
        var database = await server.CreateDatabaseAsync();
        var settings = Settings(database);
        settings["Gateway:Delivery:RetrySchedule:0"] = "00:05:00";
        settings["Gateway:Delivery:Breaker:MinimumThroughput"] = "2";
        settings["Gateway:Delivery:Breaker:FailureRatio"] = "0.5";
        settings["Gateway:Delivery:Breaker:BreakDuration"] = "00:05:00";
        using var a = GatewayHost.Create(settings);
        using var b = GatewayHost.Create(settings);
        foreach (var (replica, name) in new[] { (a, "a"), (b, "b") })
        {
            StoreAndForwardTests.OcpAnswers(replica, 503);
            for (var i = 1; i <= 2; i++)
            {
                // Two failed forwards (events of its own: another replica's would be answered from their keys) open the
                // replica's breaker.
                Assert.Equal(HttpStatusCode.Accepted,
                    (await replica.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("O" + name + i, $"o-{name}{i}")))).StatusCode);
            }

            Assert.False(replica.Services.GetRequiredService<OcpBreakers>().IsClosed("ocp"));
        }

        var body = StoreAndForwardTests.Event("K", "k-1");

        var first = await a.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));
        var resend = await b.CreateClient().PostAsync(GatewayHost.EventsPath, Samples.Json(body));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, resend.StatusCode);
        using var kept = System.Text.Json.JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        using var again = System.Text.Json.JsonDocument.Parse(await resend.Content.ReadAsStringAsync());
        Assert.Equal(kept.RootElement.GetProperty("id").GetString(), again.RootElement.GetProperty("id").GetString());
        // Read from the table itself: one row, parked at once (not forwarded) and not sent since (the break runs 5 minutes).
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var rows = new Npgsql.NpgsqlCommand("SELECT id, last_error, state FROM ocp_deliveries WHERE conversation_id = 'K'", connection);
        await using var reader = await rows.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(kept.RootElement.GetProperty("id").GetString(), reader.GetInt64(0).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("circuit open", reader.GetString(1), StringComparison.Ordinal);
        Assert.Equal(DeliveryStates.Pending, reader.GetString(2));
        Assert.False(await reader.ReadAsync());
    }

    [Fact]
    public async Task The_same_event_parked_by_two_replicas_at_once_is_kept_once()
    {
        // Talkdesk's resend reaching another replica while the first copy's park is still waiting: each park takes its
        // conversation's lock, then checks the key, so the later one finds the earlier one's.
        var database = await server.CreateDatabaseAsync();
        await using var a = new PostgresDeliveryStore(Npgsql.NpgsqlDataSource.Create(database));
        await using var b = new PostgresDeliveryStore(Npgsql.NpgsqlDataSource.Create(database));
        await a.InitializeAsync(default);
        await b.InitializeAsync(default);
        var now = DateTimeOffset.UtcNow;
        var parked = new StoredEvent(0, "key-s-1", "S", "message_created", "talkdesk-events", GatewayHost.EventsPath, StoreAndForwardTests.Event("S", "s-1"), now,
            DeliveryStates.Pending, 0, now, null);
        ParkRequest[] park = [new(parked, DeliveryStates.Pending, CheckKeySince: now.AddHours(-1))];
        Task<IReadOnlyList<ParkResult>> first, second;
        await using (var holder = new Npgsql.NpgsqlConnection(database))
        {
            // Both parks wait for the conversation's lock, held here.
            await holder.OpenAsync();
            await using var transaction = await holder.BeginTransactionAsync();
            await using (var hold = new Npgsql.NpgsqlCommand("SELECT pg_advisory_xact_lock(720612, hashtext('S'))", holder, transaction))
            {
                await hold.ExecuteNonQueryAsync();
            }

            first = a.ParkManyAsync(park, now, default);
            second = b.ParkManyAsync(park, now, default);
            await transaction.CommitAsync();
        }

        var results = (await Task.WhenAll(first, second)).Select(r => Assert.Single(r)).ToArray();

        var kept = Assert.Single(results, r => r.Earlier is null);
        Assert.Equal(new ParkResult(0, (202, kept.Id)), Assert.Single(results, r => r.Earlier is not null));
        Assert.Single(await a.ConversationAsync("S", default));
    }

    [Fact]
    public async Task A_lease_left_by_a_replica_that_died_is_taken_over_when_it_runs_out()
    {
        var database = await server.CreateDatabaseAsync();
        var store = new PostgresDeliveryStore(Npgsql.NpgsqlDataSource.Create(database));
        await store.InitializeAsync(default);
        var now = DateTimeOffset.UtcNow;
        var body = StoreAndForwardTests.Event("L", "l-1");
        await store.ParkAsync(new StoredEvent(0, "key-l-1", "L", "message_created", "talkdesk-events", GatewayHost.EventsPath, body, now,
            DeliveryStates.Pending, 0, now, null), DeliveryStates.Pending, now, default);
        // A replica claimed it and died mid-delivery: its lease holds the event for 2 s.
        Assert.Single(await store.ClaimAsync("replica-that-died", now, TimeSpan.FromSeconds(2), 10, default));

        using var survivor = GatewayHost.Create(Settings(database));
        StoreAndForwardTests.OcpAnswers(survivor, 200);
        using var started = survivor.CreateClient();

        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(survivor).Count == 1), "the lease was not taken over");
        Assert.Equal(body, Assert.Single(survivor.Ocp.LogEntries).RequestMessage.BodyAsBytes);
        // The worker records the round after OCP®'s answers.
        Assert.True(await Eventually.HoldsAsync(() => store.ListAsync(DeliveryStates.Delivered, 10, default).GetAwaiter().GetResult().Count == 1));
        Assert.Equal(2, (await store.ListAsync(DeliveryStates.Delivered, 10, default)).Single().Attempts);
        await store.DisposeAsync();
    }

    [Fact]
    public async Task Two_replicas_deliver_every_event_once_in_order_per_conversation()
    {
        var database = await server.CreateDatabaseAsync();
        using var a = GatewayHost.Create(Settings(database));
        using var b = GatewayHost.Create(Settings(database));
        StoreAndForwardTests.OcpAnswers(a, 503);
        StoreAndForwardTests.OcpAnswers(b, 503);
        var clients = new[] { a.CreateClient(), b.CreateClient() };
        for (var i = 0; i < 12; i++)
        {
            // Round-robin over the replicas, four conversations interleaved.
            var response = await clients[i % 2].PostAsync(GatewayHost.EventsPath, Samples.Json(StoreAndForwardTests.Event("c" + (i % 4), $"c{i % 4}-{i:00}")));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        a.Ocp.ResetLogEntries();
        b.Ocp.ResetLogEntries();
        StoreAndForwardTests.OcpAnswers(a, 200);
        StoreAndForwardTests.OcpAnswers(b, 200);

        Assert.True(await Eventually.HoldsAsync(() => StoreAndForwardTests.Delivered(a).Count + StoreAndForwardTests.Delivered(b).Count == 12));
        var all = a.Ocp.LogEntries.Concat(b.Ocp.LogEntries).Where(e => e.ResponseMessage.StatusCode is 200)
            .OrderBy(e => e.RequestMessage.DateTime).Select(e => Encoding.UTF8.GetString(e.RequestMessage.BodyAsBytes!)).ToList();
        Assert.Equal(12, all.Distinct().Count());
        for (var c = 0; c < 4; c++)
        {
            var ids = StoreAndForwardTests.Delivered(a).Concat(StoreAndForwardTests.Delivered(b)).Where(id => id.StartsWith($"c{c}-", StringComparison.Ordinal)).ToList();
            var inArrivalOrder = all.Where(body => body.Contains($"\"c{c}-", StringComparison.Ordinal)).ToList();
            Assert.Equal(3, ids.Count);
            Assert.Equal(inArrivalOrder.OrderBy(x => x, StringComparer.Ordinal), inArrivalOrder);
        }
    }
}
