using System.Data.Common;
using System.Text;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// The live lookups on PostgreSQL, gathered into statements over arrays: lookups that arrive while a statement is
/// out go together in the next, each answered as a lookup of its own would be; a batch that fails fails each of its
/// lookups and the next batch works again.
/// </summary>
[Collection(PostgresFixtureGroup.Name)]
public sealed class LookupBatcherTests(PostgresServer server)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    private static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static StoredEvent Event(string conversation, string text) => new(0, "key-" + text, conversation, "message_created", "talkdesk-events",
        "/talkdesk/events", Encoding.UTF8.GetBytes(text), T0, DeliveryStates.Pending, 0, T0, null);

    [Fact]
    public async Task Lookups_that_arrive_together_go_in_one_statement_each_answered_as_alone()
    {
        var database = await server.CreateDatabaseAsync();
        await using (var store = new PostgresDeliveryStore(PostgresDeliveryStore.DataSourceFor(database)))
        {
            await store.InitializeAsync(default);
            await store.ParkAsync(Event("held", "h1"), DeliveryStates.Pending, T0, default);
            await store.ParkAsync(Event("dead", "d1"), DeliveryStates.Dead, T0, default);
            await store.RecordKeysAsync([new AcceptedKey("known", Ms(T0), 409, T0), new AcceptedKey("old", Ms(T0), 200, T0.AddHours(-2))], default);
        }

        await using var source = PostgresDeliveryStore.DataSourceFor(database);
        // The first statement waits for its connection while the other 99 lookups queue behind it.
        var connectionAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var batcher = new LookupBatcher(async cancellationToken =>
        {
            connectionAsked.TrySetResult();
            await open.Task;
            return await source.OpenConnectionAsync(cancellationToken);
        }, SqlDeliveryStore.LookupCommand, TimeSpan.FromSeconds(30));

        string[] conversations = ["free", "held", "dead"];
        string[] keys = ["known", "new", "old"];
        var since = Ms(T0.AddHours(-1));
        var first = batcher.LookupAsync(keys[0], Ms(T0), since, conversations[0]);
        await connectionAsked.Task;
        var lookups = Enumerable.Range(1, 99).Select(i => batcher.LookupAsync(keys[i % 3], Ms(T0), since, conversations[i / 3 % 3])).Prepend(first).ToList();
        open.SetResult();
        var answers = await Task.WhenAll(lookups);

        Assert.Equal(2, batcher.Batches);
        for (var i = 0; i < 100; i++)
        {
            // Only the key OCP® answered within the window counts; a key accepted before "since" is new again.
            (int, long?)? earlier = keys[i % 3] == "known" ? (409, null) : null;
            Assert.Equal(earlier, answers[i].Earlier);
            Assert.Equal(conversations[i / 3 % 3] switch { "held" => DeliveryStates.Pending, "dead" => DeliveryStates.Dead, _ => null }, answers[i].Blocking);
        }
    }

    [Fact]
    public async Task A_batch_that_fails_fails_each_of_its_lookups_and_the_next_batch_opens_a_new_connection()
    {
        var database = await server.CreateDatabaseAsync();
        await using (var store = new PostgresDeliveryStore(PostgresDeliveryStore.DataSourceFor(database)))
        {
            await store.InitializeAsync(default);
            await store.RecordKeysAsync([new AcceptedKey("known", Ms(T0), 200, T0)], default);
        }

        await using var source = PostgresDeliveryStore.DataSourceFor(database);
        var opened = 0;
        await using var batcher = new LookupBatcher(async cancellationToken => Interlocked.Increment(ref opened) == 1
            ? throw new TimeoutException("the store is away")
            : (DbConnection)await source.OpenConnectionAsync(cancellationToken), SqlDeliveryStore.LookupCommand, TimeSpan.FromSeconds(30));

        var failed = await Assert.ThrowsAsync<TimeoutException>(() => batcher.LookupAsync("known", Ms(T0), 0, "free"));
        Assert.Equal("the store is away", failed.Message);

        var answer = await batcher.LookupAsync("known", Ms(T0), 0, "free");
        Assert.Equal((200, (long?)null), answer.Earlier);
        Assert.Null(answer.Blocking);
        Assert.Equal(2, opened);
    }
}
