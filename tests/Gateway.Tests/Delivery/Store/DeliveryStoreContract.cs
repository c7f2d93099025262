using System.Data.Common;
using System.Text;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>What every store must do, run against SQLite and PostgreSQL for real.</summary>
public abstract class DeliveryStoreContract
{
    private protected static readonly DateTimeOffset T0 = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The store's clock (SQLite's memory of recent keys reads it).</summary>
    private protected Microsoft.Extensions.Time.Testing.FakeTimeProvider Clock { get; } = new(T0);

    /// <summary>A new store on a fresh database, after running <paramref name="setupSql"/> on it (a file from an earlier release).</summary>
    private protected abstract Task<IDeliveryStore> CreateStoreAsync(string? setupSql = null);

    private protected static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    /// <summary>A count read straight from the last store's database (what no store operation shows, such as pruned rows).</summary>
    private protected abstract Task<long> CountAsync(string sql);

    /// <summary>A live event as Talkdesk sends it: JSON with its conversation and its own timestamp.</summary>
    private protected static StoredEvent LiveEvent(string conversation, string text, DateTimeOffset at) => Event(conversation, text) with
    {
        Body = Encoding.UTF8.GetBytes($"{{\"conversation_id\":\"{conversation}\",\"timestamp\":\"{at:yyyy-MM-ddTHH:mm:ss.fffZ}\",\"text\":\"{text}\"}}"),
    };

    private static Task<int> CompleteAsync(IDeliveryStore store, long id, string conversation, string owner, DateTimeOffset now) =>
        store.FinishAsync(owner, [new AttemptResult(id, conversation, "200", default, null)], now, default);

    private static Task<int> RescheduleAsync(IDeliveryStore store, long id, string conversation, string owner, DateTimeOffset next) =>
        store.FinishAsync(owner, [new AttemptResult(id, conversation, null, next, "503")], next, default);

    private protected static StoredEvent Event(string conversation, string text) => new(0, "key-" + text, conversation, "message_created", "talkdesk-events", "/talkdesk/events",
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

        Assert.Equal(1, await CompleteAsync(store, a1, "A", "replica-1", T0));
        var next = await store.ClaimAsync("replica-2", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal([a2], next.Select(e => e.Id));
    }

    [Fact]
    public async Task A_round_records_its_results_and_claims_the_heads_they_promoted_in_one_transaction()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);
        var b1 = await store.ParkAsync(Event("B", "b1"), DeliveryStates.Pending, T0, default);
        Assert.Equal([a1, b1], (await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));

        var (recorded, claimed) = await store.FinishAndClaimAsync("r",
            [new AttemptResult(a1, "A", "200", default, null), new AttemptResult(b1, "B", null, T0.AddMinutes(1), "503")], T0, TimeSpan.FromMinutes(10), 10, default);

        Assert.Equal(2, recorded);
        // a2 became its conversation's head in the same transaction; b1 waits for its retry.
        Assert.Equal([a2], claimed.Select(e => e.Id));
        Assert.Equal(1, claimed[0].Attempts);
        Assert.Empty(await store.ClaimAsync("r2", T0, TimeSpan.FromSeconds(30), 10, default));
        Assert.Equal([b1], (await store.ClaimAsync("r2", T0.AddMinutes(1), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
        // With no results it is a claim alone.
        Assert.Equal((0, 0), await store.FinishAndClaimAsync("r", [], T0.AddMinutes(1), TimeSpan.FromSeconds(30), 10, default) is var (n, none) ? (n, none.Count) : default);
    }

    [Fact]
    public async Task A_key_of_an_event_stamped_minutes_ago_is_left_to_the_key_writer_until_written()
    {
        var store = await CreateStoreAsync();
        var now = Clock.GetUtcNow();

        // The live step remembers a key in the writer's own map whenever the store says false here; true for a key
        // the store's memory would drop before the batch is written let a resend through as new (it reached OCP® twice).
        var remembered = store.Remember(new AcceptedKey("key-old", now.AddMinutes(-5).ToUnixTimeMilliseconds(), 200, now));

        Assert.False(remembered);
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
        Assert.Equal(0, await CompleteAsync(store, id, "A", "dead-replica", T0.AddSeconds(32)));
        Assert.Equal(1, await CompleteAsync(store, id, "A", "replica-2", T0.AddSeconds(32)));
    }

    [Fact]
    public async Task A_round_of_results_is_recorded_together_with_each_attempt_only_where_the_lease_is_still_held()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);
        var b1 = await store.ParkAsync(Event("B", "b1"), DeliveryStates.Pending, T0, default);
        var c1 = await store.ParkAsync(Event("C", "c1"), DeliveryStates.Pending, T0, default);
        Assert.Equal(3, (await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default)).Count);
        DeliveryAttempt Tried(long id, string outcome, int status) => new(id, T0.AddSeconds(1), outcome, status, null, TimeSpan.FromMilliseconds(10));

        // Another owner's results change nothing and record no attempt.
        var stranger = await store.FinishAsync("someone-else", [new AttemptResult(c1, "C", "200", default, null) { Attempt = Tried(c1, "delivered", 200) }], T0.AddSeconds(1), default);
        var recorded = await store.FinishAsync("r",
        [
            new AttemptResult(a1, "A", "200", default, null) { Attempt = Tried(a1, "delivered", 200) },
            new AttemptResult(b1, "B", null, T0.AddSeconds(60), "503") { Attempt = Tried(b1, "retry", 503) },
            new AttemptResult(c1, "C", null, T0.AddSeconds(1), "429", PushedBack: true),
        ], T0.AddSeconds(1), default);

        Assert.Equal(0, stranger);
        Assert.Equal(3, recorded);
        Assert.Equal(1, await CountAsync($"SELECT COUNT(*) FROM ocp_delivery_attempts WHERE delivery_id = {a1} AND outcome = 'delivered'"));
        Assert.Equal(0, await CountAsync($"SELECT COUNT(*) FROM ocp_delivery_attempts WHERE delivery_id = {c1}"));
        Assert.Equal(["retry"], (await store.AttemptsAsync("B", default)).Select(a => a.Outcome));
        // a1 delivered made a2 the head; c1 pushed back goes first; b1 waits for its minute.
        Assert.Equal([c1, a2], (await store.ClaimAsync("r", T0.AddSeconds(2), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_rescheduled_event_waits_for_its_time_and_still_blocks_its_conversation()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);
        await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal(1, await RescheduleAsync(store, a1, "A", "r", T0.AddSeconds(5)));

        Assert.Empty(await store.ClaimAsync("r", T0.AddSeconds(4), TimeSpan.FromSeconds(30), 10, default));
        Assert.Equal(DeliveryStates.Pending, (await store.LookupAsync("no-such-key", 0, T0, "A", default)).Blocking);
        Assert.Equal([a1], (await store.ClaimAsync("r", T0.AddSeconds(5), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }


    [Fact]
    public async Task A_pushed_back_event_waits_what_ocp_asked_then_goes_before_the_backlog_without_an_attempt_counted()
    {
        var store = await CreateStoreAsync();
        var backlog = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            backlog.Add(await store.ParkAsync(Event("B" + i, "b" + i) with { NextAttemptAt = T0.AddSeconds(-60 + i) }, DeliveryStates.Pending, T0, default));
        }

        var pushed = await store.ParkAsync(Event("P", "p1"), DeliveryStates.Pending, T0, default);
        var claimed = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);
        var results = claimed.Select(e => e.Id == pushed
            ? new AttemptResult(e.Id, e.ConversationId, null, T0.AddSeconds(1), "OCP® pushed back (429)", PushedBack: true)
            : new AttemptResult(e.Id, e.ConversationId, null, T0.AddSeconds(1), "503")).ToList();
        Assert.Equal(6, await store.FinishAsync("r", results, T0, default));

        var early = await store.ClaimAsync("r", T0.AddMilliseconds(999), TimeSpan.FromSeconds(30), 10, default);
        var first = await store.ClaimAsync("r", T0.AddSeconds(1), TimeSpan.FromSeconds(30), 1, default);

        Assert.Empty(early);
        Assert.Equal([pushed], first.Select(e => e.Id));
        // Claimed twice, counted once: the pushback gave its attempt back.
        Assert.Equal(1, first[0].Attempts);
        Assert.Contains("pushed back", first[0].LastError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Due_heads_are_claimed_most_recently_due_first_and_not_yet_due_ones_wait()
    {
        var store = await CreateStoreAsync();
        var old = await store.ParkAsync(Event("Old", "o1") with { NextAttemptAt = T0.AddMinutes(-30) }, DeliveryStates.Pending, T0, default);
        var middle = await store.ParkAsync(Event("Mid", "m1") with { NextAttemptAt = T0.AddMinutes(-10) }, DeliveryStates.Pending, T0, default);
        var recent = await store.ParkAsync(Event("New", "n1") with { NextAttemptAt = T0.AddSeconds(-1) }, DeliveryStates.Pending, T0, default);
        var later = await store.ParkAsync(Event("Later", "l1") with { NextAttemptAt = T0.AddMinutes(5) }, DeliveryStates.Pending, T0, default);

        var one = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 1, default);
        var two = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 1, default);
        var rest = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal([recent], one.Select(e => e.Id));
        Assert.Equal([middle], two.Select(e => e.Id));
        Assert.Equal([old], rest.Select(e => e.Id));
        Assert.DoesNotContain(later, rest.Select(e => e.Id));
    }
    [Fact]
    public async Task Dead_letters_keep_the_conversation_in_order_and_replay_brings_them_back()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);

        Assert.Equal(2, await store.DeadLetterAsync(a1, "too old", T0.AddHours(25), default));
        Assert.Equal(DeliveryStates.Dead, (await store.LookupAsync("no-such-key", 0, T0, "A", default)).Blocking);
        Assert.Equal([a1, a2], (await store.ListAsync(DeliveryStates.Dead, 10, default)).Select(e => e.Id));
        Assert.Empty(await store.ClaimAsync("r", T0.AddHours(26), TimeSpan.FromSeconds(30), 10, default));

        Assert.Equal(2, await store.ReplayAsync(a1, T0.AddHours(26), default));
        Assert.Equal([a1], (await store.ClaimAsync("r", T0.AddHours(26), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_stale_event_replayed_when_nothing_else_is_held_blocks_its_conversation_again()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(LiveEvent("A", "a1", T0), DeliveryStates.Pending, T0, default);
        Assert.Equal(1, await store.SetAsideStaleAsync("message_created", T0.AddMilliseconds(1), T0, "expired: test", default));
        // The worker's round: the store may now remember that nothing is held.
        Assert.Empty(await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default));

        Assert.Equal(1, await store.ReplayAsync(a1, T0, default));
        var (_, blocking) = await store.LookupAsync("key-new", Ms(T0), T0.AddHours(-1), "A", default);

        Assert.Equal(DeliveryStates.Pending, blocking);
    }

    [Fact]
    public async Task Held_conversations_are_listed_failing_heads_first_with_their_counts_and_events_in_order()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);
        await store.ParkAsync(Event("B", "b1") with { Attempts = 0, NextAttemptAt = T0.AddSeconds(5) }, DeliveryStates.Pending, T0, default);
        await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);
        Assert.Equal(1, await store.FinishAsync("r", [new AttemptResult(a1, "A", null, T0.AddMinutes(1), "OCP® answered 503")], T0, default));

        var rows = await store.HeldConversationsAsync(0, 10, default);
        var second = await store.HeldConversationsAsync(1, 10, default);
        var events = await store.ConversationAsync("A", default);

        Assert.Equal(["A", "B"], rows.Select(r => r.ConversationId));
        Assert.Equal(2, rows[0].Held);
        Assert.Equal(a1, rows[0].HeadId);
        Assert.Equal(1, rows[0].HeadAttempts);
        Assert.Equal("OCP® answered 503", rows[0].LastError);
        Assert.Equal(["B"], second.Select(r => r.ConversationId));
        Assert.Equal([a1, a2], events.Select(e => e.Id));
    }

    [Fact]
    public async Task Retry_now_makes_a_pending_head_due_and_skip_sets_it_aside_so_the_conversation_goes_on()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1") with { NextAttemptAt = T0.AddHours(1) }, DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);

        Assert.False(await store.RetryNowAsync(a2, T0, default));
        Assert.Empty(await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default));
        Assert.True(await store.RetryNowAsync(a1, T0, default));
        var due = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);
        Assert.Equal([a1], due.Select(e => e.Id));
        Assert.Equal(1, await store.FinishAsync("r", [new AttemptResult(a1, "A", null, T0.AddHours(1), "503")], T0, default));

        Assert.False(await store.SkipAsync(a2, "skipped", T0, default));
        Assert.True(await store.SkipAsync(a1, "skipped by console:alice", T0, default));
        var next = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal([a2], next.Select(e => e.Id));
        var aside = Assert.Single(await store.ListAsync(DeliveryStates.Stale, 10, default));
        Assert.Equal(a1, aside.Id);
        Assert.Equal("skipped by console:alice", aside.LastError);
    }

    [Fact]
    public async Task A_park_that_checks_its_key_keeps_a_new_event_once_and_answers_a_resend_from_its_key_in_the_same_transaction()
    {
        // While OCP® is failing the live step does not look the key up first where the store keeps no memory of keys
        // (PostgreSQL): the park checks it, so a resend is answered as before and the event kept once.
        var store = await CreateStoreAsync();
        var since = T0 - TimeSpan.FromHours(1);
        var a1 = await store.ParkAsync(LiveEvent("A", "a1", T0), DeliveryStates.Pending, T0, default);
        await store.RecordKeysAsync([new AcceptedKey("key-d1", Ms(T0), 200, T0), new AcceptedKey("key-old", Ms(T0), 200, since.AddMinutes(-1))], default);
        ParkRequest Checked(string conversation, string text) => new(LiveEvent(conversation, text, T0), DeliveryStates.Pending, ConversationUnread: true, CheckKeySince: since);

        var results = (await store.ParkManyAsync(
            [Checked("A", "a1"), Checked("A", "a2"), Checked("D", "d1"), Checked("O", "old"), Checked("A", "a3"),
             new(LiveEvent("B", "b1", T0), DeliveryStates.Pending)], T0.AddSeconds(1), default)).ToList();
        // The same event twice in one call (the group commit sends it once; a store given it twice keeps it once).
        results.AddRange(await store.ParkManyAsync([Checked("A", "a4"), Checked("A", "a4")], T0.AddSeconds(1), default));

        Assert.Equal(new ParkResult(0, (202, a1)), results[0]); // kept before: its id
        Assert.Equal(new ParkResult(0, (200, null)), results[2]); // delivered before: its status
        Assert.Equal(new ParkResult(0, (202, results[6].Id)), results[7]); // twice: kept once
        long[] kept = [results[1].Id, results[3].Id, results[4].Id, results[5].Id, results[6].Id]; // new, or answered before the window
        Assert.All(new[] { results[1], results[3], results[4], results[5], results[6] }, r => Assert.Null(r.Earlier));
        Assert.Equal(kept.Order(), kept);
        Assert.Equal(6, await CountAsync("SELECT COUNT(*) FROM ocp_deliveries"));
        Assert.Equal(1, await CountAsync($"SELECT COUNT(*) FROM ocp_event_keys WHERE idempotency_key = 'key-a2' AND status = 202 AND delivery_id = {results[1].Id}"));
        Assert.Equal(["a1", "a2", "a3", "a4"], (await store.ConversationAsync("A", default)).Select(e => Encoding.UTF8.GetString(e.Body)[^4..^2]));
        Assert.Equal([a1, results[3].Id, results[5].Id], (await store.ClaimAsync("r", T0.AddSeconds(1), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
        // After a failed forward: kept with its attempt, and its resend (with an attempt of its own) kept once, without one.
        var tried = new DeliveryAttempt(0, T0, "retry", null, "no answer within the attempt budget (0.8 s)", TimeSpan.FromMilliseconds(800));
        ParkRequest Forwarded(string text) => Checked("E", text) with { Event = LiveEvent("E", text, T0) with { LiveAttempt = tried } };
        var e1 = Assert.Single(await store.ParkManyAsync([Forwarded("e1")], T0, default));
        Assert.Equal(new ParkResult(0, (202, e1.Id)), Assert.Single(await store.ParkManyAsync([Forwarded("e1")], T0, default)));
        var history = await store.AttemptsAsync("E", default);
        Assert.Equal(e1.Id, Assert.Single(history).DeliveryId);
        Assert.Equal(("retry", (int?)null, tried.Error), (history[0].Outcome, history[0].Status, history[0].Error));
    }

    [Fact]
    public async Task Within_one_park_batch_a_conversation_has_one_head_and_an_unread_event_follows_an_earlier_dead_one()
    {
        // What each event of a batch would read of the ones before it, had they been parked one at a time.
        var store = await CreateStoreAsync();
        ParkRequest Unread(string conversation, string text) => new(LiveEvent(conversation, text, T0), DeliveryStates.Pending, ConversationUnread: true);

        var ids = (await store.ParkManyAsync(
            [new(LiveEvent("C", "c1", T0) with { LastError = DeliveryStates.BehindDeadLetter }, DeliveryStates.Dead), Unread("C", "c2"),
             Unread("D", "d1"), Unread("D", "d2"), Unread("C", "c3")], T0, default)).Select(r => r.Id).ToArray();

        Assert.Equal(ids.Order(), ids);
        var dead = await store.ListAsync(DeliveryStates.Dead, 10, default);
        Assert.Equal([ids[0], ids[1], ids[4]], dead.Select(e => e.Id));
        Assert.All(dead, e => Assert.Equal(DeliveryStates.BehindDeadLetter, e.LastError));
        Assert.Equal(3, await CountAsync($"SELECT COUNT(*) FROM ocp_deliveries WHERE state = 'dead' AND finished_at = {Ms(T0)}"));
        Assert.Equal(2, await CountAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE head = 1"));
        Assert.Equal(1, await CountAsync($"SELECT COUNT(*) FROM ocp_deliveries WHERE head = 1 AND id = {ids[2]}"));
        Assert.Equal([ids[2]], (await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
        Assert.Equal(5, await CountAsync("SELECT COUNT(*) FROM ocp_event_keys WHERE status = 202"));
    }

    [Fact]
    public async Task An_event_parked_pending_in_a_conversation_with_a_dead_letter_is_kept_dead_behind_it()
    {
        // The live step parks without reading the conversation while OCP® is failing: the store itself keeps the
        // event behind the dead letter, so it is neither claimed ahead of it nor delivered out of order.
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        Assert.Equal(1, await store.DeadLetterAsync(a1, "not delivered within MaxAge", T0, default));

        var ids = await store.ParkManyAsync(
            [new(Event("A", "a2") with { LastError = "OCP® is failing (circuit open)" }, DeliveryStates.Pending, ConversationUnread: true),
             new(Event("B", "b1"), DeliveryStates.Pending, ConversationUnread: true)], T0.AddSeconds(1), default);
        var (a2, b1) = (ids[0].Id, ids[1].Id);

        var dead = await store.ListAsync(DeliveryStates.Dead, 10, default);
        Assert.Equal([a1, a2], dead.Select(e => e.Id));
        Assert.Equal(DeliveryStates.BehindDeadLetter, dead[1].LastError);
        Assert.Equal(1, await CountAsync($"SELECT COUNT(*) FROM ocp_deliveries WHERE id = {a2} AND finished_at = {Ms(T0.AddSeconds(1))} AND head = 0"));
        Assert.Equal([b1], (await store.ClaimAsync("r", T0.AddSeconds(1), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
        // Replayed, the two go on in order.
        Assert.Equal(2, await store.ReplayAsync(a1, T0.AddSeconds(2), default));
        Assert.Equal([a1], (await store.ClaimAsync("r", T0.AddSeconds(2), TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task Skipping_a_dead_head_lets_the_events_dead_behind_it_go_on_in_order()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);
        var a3 = await store.ParkAsync(Event("A", "a3"), DeliveryStates.Pending, T0, default);
        Assert.Equal(3, await store.DeadLetterAsync(a1, "not delivered within MaxAge", T0, default));

        Assert.True(await store.SkipAsync(a1, "skipped", T0, default));
        var first = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal([a2], first.Select(e => e.Id));
        Assert.Equal(1, await CompleteAsync(store, a2, "A", "r", T0));
        Assert.Equal([a3], (await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_stale_event_is_set_aside_without_blocking_its_conversation_and_replay_brings_it_back()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2") with { EventType = "conversation_ended" }, DeliveryStates.Pending, T0, default);
        var b1 = await store.ParkAsync(Event("B", "b1"), DeliveryStates.Pending, T0, default);
        var later = T0.AddMinutes(16);

        Assert.Equal(0, await store.SetAsideStaleAsync("message_created", T0, later, "expired: test", default));
        Assert.Equal(2, await store.SetAsideStaleAsync("message_created", T0.AddMilliseconds(1), later, "expired: test", default));

        var stale = await store.ListAsync(DeliveryStates.Stale, 10, default);
        Assert.Equal([a1, b1], stale.Select(e => e.Id));
        Assert.All(stale, e => Assert.Equal("expired: test", e.LastError));
        // Conversation A goes on with its next event, of a type without ExpireAfter.
        var claimed = await store.ClaimAsync("r", later, TimeSpan.FromSeconds(30), 10, default);
        Assert.Equal([a2], claimed.Select(e => e.Id));
        Assert.Equal(1, await CompleteAsync(store, a2, "A", "r", later));

        Assert.Equal(1, await store.ReplayAsync(a1, later, default));
        Assert.Equal([a1], (await store.ClaimAsync("r", later, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
        // A replay restarts the clock: not stale again at once.
        Assert.Equal(0, await store.SetAsideStaleAsync("message_created", later, later, "expired: test", default));
        Assert.Equal([b1], (await store.ListAsync(DeliveryStates.Stale, 10, default)).Select(e => e.Id));
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
    public async Task Each_counted_attempt_is_kept_in_the_history_and_pruned_or_erased_with_its_event()
    {
        var store = await CreateStoreAsync();
        var lease = TimeSpan.FromSeconds(30);
        var a1 = await store.ParkAsync(Event("A", "a1") with { Attempts = 1, LiveAttempt = new DeliveryAttempt(0, T0, "retry", 503, "OCP® answered 503", TimeSpan.FromMilliseconds(12)) },
            DeliveryStates.Pending, T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Pending, T0, default);
        var b1 = await store.ParkAsync(Event("B", "b1"), DeliveryStates.Pending, T0, default);
        var t1 = T0.AddSeconds(1);
        await store.ClaimAsync("r", t1, lease, 10, default);
        await store.FinishAsync("r", [
            new AttemptResult(a1, "A", null, t1, "OCP® unreachable: connection refused") { Attempt = new DeliveryAttempt(a1, t1, "retry", 502, "OCP® unreachable: connection refused", TimeSpan.FromMilliseconds(3)) },
            // A pushback is not an attempt: nothing is kept for it.
            new AttemptResult(b1, "B", null, t1, "OCP® pushed back (429)", PushedBack: true),
        ], t1, default);
        var t2 = T0.AddSeconds(2);
        await store.ClaimAsync("r", t2, lease, 10, default);
        // A result for a lease this owner no longer holds records nothing (another replica's attempt would).
        await store.FinishAsync("other", [new AttemptResult(a1, "A", "200", default, null) { Attempt = new DeliveryAttempt(a1, t2, "delivered", 200, null, TimeSpan.FromMilliseconds(9)) }], t2, default);

        var history = await store.AttemptsAsync("A", default);

        Assert.Equal([(a1, T0, "retry", (int?)503, "OCP® answered 503", 12.0), (a1, t1, "retry", 502, "OCP® unreachable: connection refused", 3.0)],
            history.Select(h => (h.DeliveryId, h.At, h.Outcome, h.Status, h.Error, h.Duration.TotalMilliseconds)));
        Assert.Empty(await store.AttemptsAsync("B", default));

        await store.FinishAsync("r", [new AttemptResult(a1, "A", "200", default, null) { Attempt = new DeliveryAttempt(a1, t2, "delivered", 200, null, TimeSpan.FromMilliseconds(9)) }], t2, default);
        Assert.Equal(3, await CountAsync($"SELECT COUNT(*) FROM ocp_delivery_attempts WHERE delivery_id = {a1}"));
        Assert.Empty(await store.AttemptsAsync("A", default));

        await store.PruneAsync(t2.AddSeconds(1), default);
        Assert.Equal(0, await CountAsync($"SELECT COUNT(*) FROM ocp_delivery_attempts WHERE delivery_id = {a1}"));

        await store.ClaimAsync("r", t2, lease, 10, default);
        await store.FinishAsync("r", [new AttemptResult(a2, "A", null, t2, "503") { Attempt = new DeliveryAttempt(a2, t2, "retry", 503, "OCP® answered 503", TimeSpan.Zero) }], t2, default);
        Assert.Single(await store.AttemptsAsync("A", default));
        await store.EraseConversationAsync("A", default);
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM ocp_delivery_attempts"));
    }

    [Fact]
    public async Task Keys_are_found_within_the_window_and_pruned_after_it()
    {
        var store = await CreateStoreAsync();
        var parked = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        await store.RecordKeysAsync([new AcceptedKey("direct-key", 0, 200, T0)], default);

        Assert.Equal((202, (long?)parked), (await store.LookupAsync("key-a1", 0, T0.AddHours(-24), "no-such-conversation", default)).Earlier);
        Assert.Equal((200, (long?)null), (await store.LookupAsync("direct-key", 0, T0.AddHours(-24), "no-such-conversation", default)).Earlier);
        Assert.Null((await store.LookupAsync("direct-key", 0, T0.AddSeconds(1), "no-such-conversation", default)).Earlier);
        Assert.Null((await store.LookupAsync("unknown", 0, T0.AddHours(-24), "no-such-conversation", default)).Earlier);

        await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);
        await CompleteAsync(store, parked, "A", "r", T0);
        Assert.True(await store.PruneAsync(T0.AddSeconds(1), default) >= 3);
        Assert.Null((await store.LookupAsync("key-a1", 0, T0.AddHours(-24), "no-such-conversation", default)).Earlier);
        Assert.Empty(await store.ListAsync(DeliveryStates.Delivered, 10, default));
    }

    [Fact]
    public async Task One_lookup_gives_the_key_s_earlier_answer_and_the_conversation_s_blocking_state()
    {
        var store = await CreateStoreAsync();
        var parked = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        await store.RecordKeysAsync([new AcceptedKey("direct-key", 0, 200, T0)], default);

        Assert.Equal((((202, (long?)parked)), DeliveryStates.Pending), await store.LookupAsync("key-a1", 0, T0.AddHours(-24), "A", default));
        Assert.Equal((((200, (long?)null)), (string?)null), await store.LookupAsync("direct-key", 0, T0.AddHours(-24), "B", default));
        Assert.Equal((((int, long?)?)null, DeliveryStates.Pending), await store.LookupAsync("new-key", 0, T0.AddHours(-24), "A", default));
        Assert.Equal((((int, long?)?)null, (string?)null), await store.LookupAsync("key-a1", 0, T0.AddSeconds(1), "B", default));
        await store.DeadLetterAsync(parked, "too old", T0, default);
        Assert.Equal(DeliveryStates.Dead, (await store.LookupAsync("new-key", 0, T0, "A", default)).Blocking);
    }

    [Fact]
    public async Task Keys_of_live_events_are_found_by_their_own_time_and_a_held_conversation_still_blocks()
    {
        var store = await CreateStoreAsync();
        var since = T0.AddHours(-24);
        var parked = await store.ParkAsync(LiveEvent("A", "a1", T0.AddSeconds(-1)), DeliveryStates.Pending, T0, default);
        await store.RecordKeysAsync([new AcceptedKey("direct-key", Ms(T0.AddSeconds(-2)), 200, T0)], default);

        Assert.Equal((((202, (long?)parked)), (string?)null), await store.LookupAsync("key-a1", Ms(T0.AddSeconds(-1)), since, "B", default));
        Assert.Equal((((200, (long?)null)), (string?)null), await store.LookupAsync("direct-key", Ms(T0.AddSeconds(-2)), since, "B", default));
        Assert.Null((await store.LookupAsync("direct-key", Ms(T0.AddSeconds(-2)), T0.AddSeconds(1), "B", default)).Earlier);
        Assert.Equal((((int, long?)?)null, DeliveryStates.Pending), await store.LookupAsync("new-key", Ms(T0), since, "A", default));
        Assert.Equal((((int, long?)?)null, (string?)null), await store.LookupAsync("new-key", Ms(T0), since, "B", default));

        Assert.Equal([parked], await DrainAsync(store, T0));

        Assert.Equal((((int, long?)?)null, (string?)null), await store.LookupAsync("new-key", Ms(T0), since, "A", default));
        Assert.Equal((202, (long?)parked), (await store.LookupAsync("key-a1", Ms(T0.AddSeconds(-1)), since, "A", default)).Earlier);
    }

    [Fact]
    public async Task A_batch_of_keys_is_recorded_whole_and_a_repeat_in_it_keeps_the_first_answer()
    {
        var store = await CreateStoreAsync();
        // 150 keys, the last repeating the first with another status.
        var batch = Enumerable.Range(0, 149).Select(i => new AcceptedKey($"batch-key-{i}", Ms(T0.AddHours(-2)), 200 + (i % 3), T0))
            .Append(new AcceptedKey("batch-key-0", Ms(T0.AddHours(-2)), 409, T0)).ToList();

        await store.RecordKeysAsync(batch, default);

        foreach (var i in new[] { 0, 1, 63, 64, 127, 128, 148 })
        {
            Assert.Equal((200 + (i % 3), (long?)null), (await store.LookupAsync($"batch-key-{i}", Ms(T0.AddHours(-2)), T0.AddHours(-24), "B", default)).Earlier);
        }
    }

    [Fact]
    public async Task A_key_is_pruned_by_when_it_was_accepted_even_when_its_event_is_older()
    {
        var store = await CreateStoreAsync();
        // An event stamped two days ago that OCP® took just now, and one stamped and taken two days ago.
        await store.RecordKeysAsync(
        [
            new AcceptedKey("late-event", Ms(T0.AddDays(-2)), 200, T0),
            new AcceptedKey("old-event", Ms(T0.AddDays(-2)), 200, T0.AddDays(-2)),
        ], default);

        await store.PruneAsync(T0.AddDays(-1), default);

        Assert.Equal((200, (long?)null), (await store.LookupAsync("late-event", Ms(T0.AddDays(-2)), T0.AddDays(-1), "B", default)).Earlier);
        Assert.Null((await store.LookupAsync("old-event", Ms(T0.AddDays(-2)), T0.AddDays(-3), "B", default)).Earlier);
    }

    [Fact]
    public async Task Keys_kept_before_the_table_was_ordered_by_event_time_are_still_found()
    {
        // The key table of the first store-and-forward releases, holding a key OCP® took ten seconds ago.
        var store = await CreateStoreAsync(
            "CREATE TABLE ocp_accepted_keys (idempotency_key TEXT PRIMARY KEY, status INT NOT NULL, delivery_id BIGINT NULL, accepted_at BIGINT NOT NULL);" +
            $"INSERT INTO ocp_accepted_keys VALUES ('old-key', 200, NULL, {Ms(T0.AddSeconds(-10))});");

        Assert.Equal((200, (long?)null), (await store.LookupAsync("old-key", Ms(T0.AddSeconds(-11)), T0.AddHours(-24), "B", default)).Earlier);
        Assert.Null((await store.LookupAsync("other-key", Ms(T0), T0.AddHours(-24), "B", default)).Earlier);
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
    public async Task A_conversation_parked_behind_a_dead_head_stays_blocked_until_replayed_then_drains_in_order()
    {
        var store = await CreateStoreAsync();
        var a1 = await store.ParkAsync(Event("A", "a1"), DeliveryStates.Pending, T0, default);
        await store.DeadLetterAsync(a1, "too old", T0, default);
        var a2 = await store.ParkAsync(Event("A", "a2"), DeliveryStates.Dead, T0, default);

        Assert.Empty(await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default));
        Assert.Equal(2, await store.ReplayAsync(null, T0, default));

        Assert.Equal([a1, a2], await DrainAsync(store, T0));
    }

    [Fact]
    public async Task Events_parked_concurrently_by_several_writers_are_each_claimed_once_in_per_conversation_order()
    {
        var store = await CreateStoreAsync();
        // Four writers (replicas, on PostgreSQL) park into the same three conversations at once while a
        // claimer drains: every conversation must always have exactly one head.
        var parking = Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++)
            {
                await store.ParkAsync(Event("C" + (i % 3), $"w{w}-{i}"), DeliveryStates.Pending, T0, default);
            }
        })));
        var delivered = new List<long>();
        var order = new Dictionary<string, long>();
        while (!parking.IsCompleted)
        {
            delivered.AddRange(await DrainAsync(store, T0, order, rounds: 1));
        }

        await parking;
        delivered.AddRange(await DrainAsync(store, T0, order));

        var all = await store.StatsAsync(default);
        Assert.Equal(60, delivered.Count);
        Assert.Equal(60, delivered.Distinct().Count());
        Assert.Equal(60, all.Counts[DeliveryStates.Delivered]);
        Assert.Equal(0, all.Counts[DeliveryStates.Pending] + all.Counts[DeliveryStates.Leased]);
    }

    /// <summary>Claims and completes until nothing is due; returns the ids in the order delivered, checking each conversation's order.</summary>
    private static async Task<List<long>> DrainAsync(IDeliveryStore store, DateTimeOffset now, Dictionary<string, long>? last = null, int rounds = int.MaxValue)
    {
        var delivered = new List<long>();
        last ??= [];
        for (var round = 0; round < rounds; round++)
        {
            var claimed = await store.ClaimAsync("drain", now, TimeSpan.FromMinutes(5), 16, default);
            if (claimed.Count == 0)
            {
                break;
            }

            Assert.Equal(claimed.Count, claimed.Select(e => e.ConversationId).Distinct().Count());
            foreach (var e in claimed)
            {
                Assert.True(!last.TryGetValue(e.ConversationId, out var previous) || previous < e.Id, $"{e.ConversationId}: {e.Id} after {previous}");
                last[e.ConversationId] = e.Id;
            }

            Assert.Equal(claimed.Count, await store.FinishAsync("drain", [.. claimed.Select(e => new AttemptResult(e.Id, e.ConversationId, "200", default, null))], now, default));
            delivered.AddRange(claimed.Select(e => e.Id));
        }

        return delivered;
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

    /// <summary>Holds every park back (another writer's lock on the deliveries) until disposed.</summary>
    private protected abstract Task<IAsyncDisposable> HoldWritesAsync();

    [Fact]
    public async Task A_park_batch_keeps_arrival_order_heads_keys_and_attempts_in_one_transaction()
    {
        var store = await CreateStoreAsync();
        var tried = new DeliveryAttempt(0, T0, "retry", 503, "OCP® answered 503", TimeSpan.FromMilliseconds(12));
        ParkRequest[] batch =
        [
            new(LiveEvent("A", "a1", T0), DeliveryStates.Pending), new(LiveEvent("B", "b1", T0), DeliveryStates.Pending),
            new(LiveEvent("A", "a2", T0), DeliveryStates.Pending), new(LiveEvent("A", "a3", T0) with { LiveAttempt = tried }, DeliveryStates.Pending),
            new(LiveEvent("B", "b2", T0), DeliveryStates.Pending),
        ];

        var ids = (await store.ParkManyAsync(batch, T0, default)).Select(r => r.Id).ToArray();

        Assert.Equal(5, ids.Length);
        Assert.Equal(ids.Order(), ids); // arrival order is id order, the order redelivery keeps
        Assert.Equal(2, await CountAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE head = 1"));
        Assert.Equal([ids[0], ids[1]], (await store.ClaimAsync("replica-1", T0, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
        Assert.Equal(5, await CountAsync("SELECT COUNT(*) FROM ocp_event_keys WHERE status = 202"));
        var (earlier, _) = await store.LookupAsync("key-a2", Ms(T0), T0 - TimeSpan.FromHours(1), "A", default);
        Assert.Equal((202, (long?)ids[2]), earlier);
        var history = await store.AttemptsAsync("A", default);
        Assert.Equal(ids[3], Assert.Single(history).DeliveryId);
        Assert.Equal(("retry", 503, "OCP® answered 503"), (history[0].Outcome, history[0].Status, history[0].Error));
        Assert.Equal(["a1", "a2", "a3"], (await store.ConversationAsync("A", default)).Select(e => Encoding.UTF8.GetString(e.Body)[^4..^2]));
    }

    [Fact]
    public async Task A_park_batch_that_fails_keeps_none_of_its_events_and_the_next_batch_starts_clean()
    {
        var store = await CreateStoreAsync();
        ParkRequest[] failing =
        [
            new(LiveEvent("A", "a1", T0), DeliveryStates.Pending),
            // A row the table refuses (NOT NULL), after one it took: the whole transaction goes.
            new(LiveEvent("B", "b1", T0) with { ConversationId = null! }, DeliveryStates.Pending),
        ];

        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => store.ParkManyAsync(failing, T0, default));

        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM ocp_deliveries"));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM ocp_event_keys"));
        var ids = await store.ParkManyAsync([new(LiveEvent("A", "a1", T0), DeliveryStates.Pending)], T0, default);
        Assert.Equal([ids[0].Id], (await store.ClaimAsync("replica-1", T0, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task Concurrent_parks_share_commits_keep_each_conversation_s_order_and_are_answered_only_after_their_commit()
    {
        var store = await CreateStoreAsync();
        var metrics = new OcpTalkdesk.Gateway.Metrics.GatewayMetrics();
        await using var parks = new GroupCommit(store, new StaticOptionsMonitor<DeliveryOptions>(new DeliveryOptions { MaxWaitingParks = 1000 }), metrics, TimeProvider.System);
        Task<ParkResult>[] committed;
        await using (await HoldWritesAsync())
        {
            // 20 conversations of 10 events, sent from 20 callers at once while the store is held.
            var callers = Enumerable.Range(0, 20).Select(c => Task.Run(() => Enumerable.Range(0, 10).Select(n =>
                parks.TryPark(new(LiveEvent($"c-{c}", $"{c}-{n}", T0), DeliveryStates.Pending), out var task) ? task : throw new InvalidOperationException("refused")).ToArray()));
            committed = (await Task.WhenAll(callers)).SelectMany(t => t).ToArray();
            Assert.DoesNotContain(committed, t => t.IsCompleted);
            Assert.Equal(200, parks.WaitingParks);
        }

        var ids = (await Task.WhenAll(committed)).Select(r => r.Id).ToArray();

        Assert.Equal(200, ids.Distinct().Count());
        Assert.Equal(0, parks.WaitingParks);
        // 200 events in a few transactions: the one held back by the lock, and what gathered meanwhile (all of it, when
        // the writer took its first batch after every caller had queued).
        Assert.InRange(parks.Batches, 1, 10);
        Assert.Equal(200, await CountAsync("SELECT COUNT(*) FROM ocp_deliveries"));
        for (var c = 0; c < 20; c++)
        {
            var conversation = ids.Skip(10 * c).Take(10).ToArray();
            Assert.Equal(conversation.Order(), conversation);
        }

        Assert.Equal(20, await CountAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE head = 1"));
    }

    [Fact]
    public async Task Past_the_waiting_bound_a_park_is_refused_at_once_and_a_resend_in_the_same_batch_is_kept_once()
    {
        var store = await CreateStoreAsync();
        var metrics = new OcpTalkdesk.Gateway.Metrics.GatewayMetrics();
        await using var parks = new GroupCommit(store, new StaticOptionsMonitor<DeliveryOptions>(new DeliveryOptions { MaxWaitingParks = 3 }), metrics, TimeProvider.System);
        Task<ParkResult> first, second, resend;
        await using (await HoldWritesAsync())
        {
            Assert.True(parks.TryPark(new(LiveEvent("A", "a1", T0), DeliveryStates.Pending), out first));
            Assert.True(parks.TryPark(new(LiveEvent("A", "a2", T0), DeliveryStates.Pending), out second));
            Assert.True(parks.TryPark(new(LiveEvent("A", "a2", T0), DeliveryStates.Pending), out resend));
            Assert.False(parks.TryPark(new(LiveEvent("A", "a3", T0), DeliveryStates.Pending), out _));
            Assert.NotNull(parks.LastRefusedAt);
            Assert.False(first.IsCompleted || second.IsCompleted || resend.IsCompleted);
        }

        Assert.Equal(await second, await resend);
        Assert.NotEqual(await first, await second);
        Assert.Equal(2, await CountAsync("SELECT COUNT(*) FROM ocp_deliveries"));
        Assert.True(parks.TryPark(new(LiveEvent("A", "a3", T0), DeliveryStates.Pending), out var later));
        Assert.True((await later).Id > (await second).Id);
        var text = await StoreAndForwardTests.MetricsTextAsync(metrics);
        Assert.Equal(1, StoreAndForwardTests.Metric(text, "ocp_gateway_delivery_park_refused_total"));
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

    private string File => Path.Combine(_folder, "deliveries.db");

    private protected override async Task<IDeliveryStore> CreateStoreAsync(string? setupSql = null)
    {
        if (setupSql is not null)
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={File}");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = setupSql;
            await command.ExecuteNonQueryAsync();
        }

        var store = new SqliteDeliveryStore($"Data Source={File}", Clock);
        await store.InitializeAsync(default);
        return store;
    }

    // Another connection's write transaction: the park's BEGIN IMMEDIATE waits (busy_timeout) until it ends.
    private protected override async Task<IAsyncDisposable> HoldWritesAsync()
    {
        // Not pooled: closed with its transaction open, a pooled connection would go back to the pool still in it.
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={File};Pooling=False");
        await connection.OpenAsync();
        await using (var begin = connection.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            await begin.ExecuteNonQueryAsync();
        }

        return connection;
    }

    private protected override async Task<long> CountAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={File}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The key batch goes through SQLitePCLRaw (not Microsoft.Data.Sqlite): a key the engine refuses fails the batch as a
    /// <see cref="Microsoft.Data.Sqlite.SqliteException"/> (a store failure: the key writer keeps the keys), and none of the batch is kept.</summary>
    [Fact]
    public async Task A_key_batch_the_engine_refuses_part_way_fails_whole_as_a_store_error()
    {
        var store = await CreateStoreAsync();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={File}"))
        {
            await connection.OpenAsync();
            await using var trigger = connection.CreateCommand();
            trigger.CommandText = "CREATE TRIGGER poison BEFORE INSERT ON ocp_event_keys WHEN NEW.idempotency_key = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned key'); END";
            await trigger.ExecuteNonQueryAsync();
        }

        // Stamped an hour ago: older than the store's memory of keys, so the look-ups below ask the table.
        var at = Ms(T0.AddHours(-1));
        var failed = await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => store.RecordKeysAsync(
            [new AcceptedKey("before", at, 200, T0), new AcceptedKey("poison", at, 200, T0), new AcceptedKey("after", at, 200, T0)], default));

        Assert.Contains("poisoned key", failed.Message, StringComparison.Ordinal);
        Assert.True(StoreAndForwardMiddleware.IsStoreFailure(failed));
        Assert.Null((await store.LookupAsync("before", at, T0.AddHours(-2), "B", default)).Earlier);
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM ocp_event_keys"));
        await store.RecordKeysAsync([new AcceptedKey("before", at, 200, T0), new AcceptedKey("after", at, 201, T0)], default);
        Assert.Equal((201, (long?)null), (await store.LookupAsync("after", at, T0.AddHours(-2), "B", default)).Earlier);
    }

    [Fact]
    public async Task After_a_restart_recent_keys_are_answered_from_memory_again()
    {
        var first = (SqliteDeliveryStore)await CreateStoreAsync();
        await first.RecordKeysAsync([new AcceptedKey("direct-key", Ms(T0.AddSeconds(-2)), 200, T0)], default);
        var parked = await first.ParkAsync(LiveEvent("A", "a1", T0.AddSeconds(-1)), DeliveryStates.Pending, T0, default);
        await first.DisposeAsync();

        var again = (SqliteDeliveryStore)await CreateStoreAsync();

        Assert.Equal(2, again.Recent!.Count);
        Assert.Equal((200, (long?)null), (await again.LookupAsync("direct-key", Ms(T0.AddSeconds(-2)), T0.AddHours(-24), "B", default)).Earlier);
        Assert.Equal((202, (long?)parked), (await again.LookupAsync("key-a1", Ms(T0.AddSeconds(-1)), T0.AddHours(-24), "B", default)).Earlier);
        // A held event after the restart still blocks its conversation.
        Assert.Equal(DeliveryStates.Pending, (await again.LookupAsync("new-key", Ms(T0), T0.AddHours(-24), "A", default)).Blocking);
    }

    [Fact]
    public async Task A_file_from_before_the_head_column_is_migrated_and_its_conversations_drain_in_order()
    {
        // The table as the first store-and-forward release wrote it, with two conversations held.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={File}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText =
                "CREATE TABLE ocp_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL, conversation_id TEXT NOT NULL, " +
                "event_type TEXT NOT NULL, route_id TEXT NOT NULL, request_path TEXT NOT NULL, body BLOB NOT NULL, received_at INTEGER NOT NULL, " +
                "deadline_from INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, " +
                "lease_owner TEXT NULL, lease_until INTEGER NULL, last_error TEXT NULL, finished_at INTEGER NULL);" +
                "INSERT INTO ocp_deliveries (idempotency_key, conversation_id, event_type, route_id, request_path, body, received_at, deadline_from, state, next_attempt_at) VALUES " +
                "('k1', 'A', 'message_created', 'r', '/', x'31', 0, 0, 'delivered', 0), ('k2', 'A', 'message_created', 'r', '/', x'32', 0, 0, 'pending', 0), " +
                "('k3', 'B', 'message_created', 'r', '/', x'33', 0, 0, 'pending', 0), ('k4', 'A', 'message_created', 'r', '/', x'34', 0, 0, 'pending', 0);";
            await command.ExecuteNonQueryAsync();
        }

        var store = await CreateStoreAsync();
        var first = await store.ClaimAsync("r", T0Later, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal([2L, 3L], first.Select(e => e.Id).Order());
        await store.FinishAsync("r", [.. first.Select(e => new AttemptResult(e.Id, e.ConversationId, "200", default, null))], T0Later, default);
        Assert.Equal([4L], (await store.ClaimAsync("r", T0Later, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_file_with_an_index_on_the_random_key_loses_it_and_is_still_searched_by_key()
    {
        // As the releases before issue #24's measurements wrote it: an index on the idempotency key, which cost each
        // park a page of its own in the WAL.
        var store = await CreateStoreAsync(
            "CREATE TABLE ocp_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL, conversation_id TEXT NOT NULL, " +
            "event_type TEXT NOT NULL, route_id TEXT NOT NULL, request_path TEXT NOT NULL, body BLOB NOT NULL, received_at INTEGER NOT NULL, " +
            "deadline_from INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, " +
            "lease_owner TEXT NULL, lease_until INTEGER NULL, last_error TEXT NULL, finished_at INTEGER NULL);" +
            "CREATE INDEX ocp_deliveries_key ON ocp_deliveries (idempotency_key);" +
            "CREATE INDEX ocp_deliveries_received ON ocp_deliveries (state, received_at);" +
            "INSERT INTO ocp_deliveries (idempotency_key, conversation_id, event_type, route_id, request_path, body, received_at, deadline_from, state, next_attempt_at) VALUES " +
            "('k1', 'A', 'message_created', 'r', '/', x'31', 0, 0, 'pending', 0), ('k2', 'B', 'message_created', 'r', '/', x'32', 0, 0, 'pending', 0);");

        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={File}"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND name IN " +
                "('ocp_deliveries_key', 'ocp_deliveries_received', 'ocp_deliveries_received_key') ORDER BY name)";
            Assert.Equal("ocp_deliveries_received_key", await command.ExecuteScalarAsync());
        }

        Assert.Equal("B", await store.FindConversationAsync("k2", default));
        Assert.Null(await store.FindConversationAsync("k3", default));
    }

    private static readonly DateTimeOffset T0Later = new(2026, 11, 25, 11, 0, 0, TimeSpan.Zero);
}

[Collection(PostgresFixtureGroup.Name)]
public sealed class PostgresDeliveryStoreTests(PostgresServer server) : DeliveryStoreContract
{
    private protected override async Task<IDeliveryStore> CreateStoreAsync(string? setupSql = null)
    {
        _database = await server.CreateDatabaseAsync();
        var source = PostgresDeliveryStore.DataSourceFor(_database);
        if (setupSql is not null)
        {
            await using var command = source.CreateCommand(setupSql);
            await command.ExecuteNonQueryAsync();
        }

        var store = new PostgresDeliveryStore(source);
        await store.InitializeAsync(default);
        return store;
    }

    private string _database = string.Empty;

    // Another session holding the conversation's advisory lock: the park batch's lock waits until it closes.
    private protected override async Task<IAsyncDisposable> HoldWritesAsync()
    {
        // A transaction left open holding a lock that every insert into the deliveries waits for (whatever the
        // conversation); closing the connection rolls it back.
        var connection = new Npgsql.NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("BEGIN; LOCK TABLE ocp_deliveries IN SHARE ROW EXCLUSIVE MODE", connection);
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    // The live lookups on PostgreSQL, gathered into statements over arrays (LookupBatcher): lookups that arrive while a
    // statement is out go together in the next, each answered as a lookup of its own would be; a batch that fails fails
    // each of its lookups and the next batch works again.
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

    private protected override async Task<long> CountAsync(string sql)
    {
        await using var source = Npgsql.NpgsqlDataSource.Create(_database);
        await using var command = source.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
