using System.Text;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>What every store must do, run against SQLite and PostgreSQL for real.</summary>
public abstract class DeliveryStoreContract
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    private protected abstract Task<IDeliveryStore> CreateStoreAsync();

    private static StoredEvent Event(string conversation, string text) => new(0, "key-" + text, conversation, "message_created", "talkdesk-events", "/talkdesk/events",
        Encoding.UTF8.GetBytes(text), T0, DeliveryStates.Pending, 0, T0, null);

    [Fact]
    public async Task Claims_only_the_head_of_each_conversation_and_the_next_after_delivery()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);
        var b1 = await store.ParkAsync(Event("B", "b1"), DeliveryStates.Pending, T0, default);

        var first = await store.ClaimAsync("replica-1", T0, TimeSpan.FromSeconds(30), 10, default);
        var none = await store.ClaimAsync("replica-2", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal([a1, b1], first.Select(e => e.Id));
        Assert.Equal("a1", Encoding.UTF8.GetString(first[0].Body));
        Assert.Equal(1, first[0].Attempts);
        Assert.Empty(none);

        Assert.True(await store.CompleteAsync(a1, "replica-1", T0, "200", default));
        var next = await store.ClaimAsync("replica-2", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal([a2], next.Select(e => e.Id));
    }

    [Fact]
    public async Task A_lease_that_runs_out_is_taken_over_and_the_old_owner_can_no_longer_complete()
    {
        var store = await CreateStoreAsync();
        var id = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        await store.ClaimAsync("dead-replica", T0, TimeSpan.FromSeconds(30), 10, default);

        var tooEarly = await store.ClaimAsync("replica-2", T0.AddSeconds(29), TimeSpan.FromSeconds(30), 10, default);
        var takenOver = await store.ClaimAsync("replica-2", T0.AddSeconds(31), TimeSpan.FromSeconds(30), 10, default);

        Assert.Empty(tooEarly);
        Assert.Equal([id], takenOver.Select(e => e.Id));
        Assert.Equal(2, takenOver[0].Attempts);
        Assert.False(await store.CompleteAsync(id, "dead-replica", T0.AddSeconds(32), "200", default));
        Assert.True(await store.CompleteAsync(id, "replica-2", T0.AddSeconds(32), "200", default));
    }

    [Fact]
    public async Task A_rescheduled_event_waits_for_its_time_and_still_blocks_its_conversation()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);
        await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.True(await store.RescheduleAsync(a1, "r", T0.AddSeconds(5), "503", default));

        Assert.Empty(await store.ClaimAsync("r", T0.AddSeconds(4), TimeSpan.FromSeconds(30), 10, default));
        Assert.Equal(DeliveryStates.Pending, await store.BlockingStateAsync("A", default));
        Assert.Equal([a1], (await store.ClaimAsync("r", T0.AddSeconds(5), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task Dead_letters_keep_the_conversation_in_order_and_replay_brings_them_back()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);

        Assert.Equal(2, await store.DeadLetterAsync(a1, "too old", T0.AddHours(25), default));
        Assert.Equal(DeliveryStates.Dead, await store.BlockingStateAsync("A", default));
        Assert.Equal([a1, a2], (await store.ListAsync(DeliveryStates.Dead, 10, default)).Select(e => e.Id));
        Assert.Empty(await store.ClaimAsync("r", T0.AddHours(26), TimeSpan.FromSeconds(30), 10, default));

        Assert.Equal(2, await store.ReplayAsync(a1, T0.AddHours(26), default));
        Assert.Equal([a1], (await store.ClaimAsync("r", T0.AddHours(26), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task Discarding_the_head_lets_the_next_event_go()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);

        Assert.True(await store.DiscardAsync(a1, T0, default));

        Assert.Equal([a2], (await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task Keys_are_found_within_the_window_and_pruned_after_it()
    {
        var store = await CreateStoreAsync();
        var parked = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        await store.RecordKeysAsync([("direct-key", 200, T0)], default);

        Assert.Equal((202, (long?)parked), await store.FindKeyAsync("key-a1", T0.AddHours(-24), default));
        Assert.Equal((200, (long?)null), await store.FindKeyAsync("direct-key", T0.AddHours(-24), default));
        Assert.Null(await store.FindKeyAsync("direct-key", T0.AddSeconds(1), default));
        Assert.Null(await store.FindKeyAsync("unknown", T0.AddHours(-24), default));

        await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);
        await store.CompleteAsync(parked, "r", T0, "200", default);
        Assert.True(await store.PruneAsync(T0.AddSeconds(1), default) >= 3);
        Assert.Null(await store.FindKeyAsync("key-a1", T0.AddHours(-24), default));
        Assert.Empty(await store.ListAsync(DeliveryStates.Delivered, 10, default));
    }

    [Fact]
    public async Task Stats_count_by_state_and_give_the_oldest_pending()
    {
        var store = await CreateStoreAsync();
        await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        await store.ParkAsync(Event("B", "b1") with { ReceivedAt = T0.AddMinutes(1) }, DeliveryStates.Pending, T0, default);

        var (counts, oldest) = await store.StatsAsync(default);

        Assert.Equal(2, counts[DeliveryStates.Pending]);
        Assert.Equal(T0, oldest);
    }

    [Fact]
    public async Task Concurrent_claimers_never_take_the_same_event_or_two_of_one_conversation()
    {
        var store = await CreateStoreAsync();
        for (var i = 0; i < 40; i++)
        {
            await store.ParkAsync(Event("C" + (i % 8), "e" + i), DeliveryStates.Pending, T0, default);
        }

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(r => store.ClaimAsync("replica-" + r, T0, TimeSpan.FromMinutes(1), 5, default)));
        var all = claims.SelectMany(c => c).ToList();

        Assert.Equal(all.Count, all.Select(e => e.Id).Distinct().Count());
        Assert.Equal(all.Count, all.Select(e => e.ConversationId).Distinct().Count());
        Assert.Equal(8, all.Count);
    }
}

public sealed class SqliteDeliveryStoreTests : DeliveryStoreContract, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-store-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private protected override async Task<IDeliveryStore> CreateStoreAsync()
    {
        var store = new SqliteDeliveryStore($"Data Source={Path.Combine(_folder, "deliveries.db")}");
        await store.InitializeAsync(default);
        return store;
    }
}

[Collection(PostgresFixtureGroup.Name)]
public sealed class PostgresDeliveryStoreTests(PostgresServer server) : DeliveryStoreContract
{
    private protected override async Task<IDeliveryStore> CreateStoreAsync()
    {
        var store = new PostgresDeliveryStore(Npgsql.NpgsqlDataSource.Create(await server.CreateDatabaseAsync()));
        await store.InitializeAsync(default);
        return store;
    }
}
