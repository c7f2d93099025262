namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// What an operator's action means, in one place for the admin API and the console: a replay puts dead and stale
/// events back to pending and wakes the worker; a discard removes one held event and lets its conversation go on.
/// </summary>
public sealed class DeliveryOperations
{
    private readonly IDeliveryStore store;
    private readonly RedeliveryWorker worker;
    private readonly OcpBreakers breakers;
    private readonly StoreHealth health;
    private readonly TimeProvider time;

    internal DeliveryOperations(IDeliveryStore store, RedeliveryWorker worker, OcpBreakers breakers, StoreHealth health, TimeProvider time)
    {
        (this.store, this.worker, this.breakers, this.health, this.time) = (store, worker, breakers, health, time);
    }

    /// <summary>The cluster whose circuit is open or half-open, or null when every one is closed.</summary>
    public string? OpenCircuit => breakers.AnyOpen(out var cluster) ? cluster : null;

    /// <summary>When OCP® last took an event (to the second), or null when it has not since start.</summary>
    public DateTimeOffset? LastOcpSuccess => health.LastOcpSuccess;

    /// <summary>True while OCP® failed the last event sent to it.</summary>
    public bool OcpFailing => health.OcpFailing;

    /// <summary>The store's last error while it is failing, or null when it answers.</summary>
    public string? StoreError => health.LastError;

    /// <summary>Held events in <paramref name="state"/>, oldest first, at most <paramref name="limit"/> (1 to 1000).</summary>
    internal async Task<IReadOnlyList<DeliveryView>> ListAsync(string state, int limit) =>
        (await store.ListAsync(state, Math.Clamp(limit, 1, 1000), CancellationToken.None)).Select(DeliveryView.Of).ToList();

    /// <summary>One dead or stale event and those after it in its conversation (or every one, with no id) back to pending.</summary>
    public async Task<int> ReplayAsync(long? id)
    {
        var count = await store.ReplayAsync(id, time.GetUtcNow(), CancellationToken.None);
        worker.Wake();
        return count;
    }

    /// <summary>Every dead and set-aside event of a conversation back to pending, in order; how many went back.</summary>
    public async Task<int> ReplayConversationAsync(string conversationId)
    {
        var count = 0;
        // The first dead one brings the dead ones behind it along (ReplayAsync); set-aside ones go back one by one.
        foreach (var stored in await store.ConversationAsync(conversationId, CancellationToken.None))
        {
            if (stored.State is DeliveryStates.Dead or DeliveryStates.Stale)
            {
                count += await store.ReplayAsync(stored.Id, time.GetUtcNow(), CancellationToken.None);
            }
        }

        worker.Wake();
        return count;
    }

    /// <summary>Discards every dead and set-aside event of a conversation (its pending ones stay); how many were discarded.</summary>
    public async Task<int> DiscardConversationAsync(string conversationId)
    {
        var count = 0;
        foreach (var stored in await store.ConversationAsync(conversationId, CancellationToken.None))
        {
            if (stored.State is DeliveryStates.Dead or DeliveryStates.Stale && await store.DiscardAsync(stored.Id, time.GetUtcNow(), CancellationToken.None))
            {
                count++;
            }
        }

        worker.Wake();
        return count;
    }

    /// <summary>Discards one held event; false when there is none with that id.</summary>
    public Task<bool> DiscardAsync(long id) => store.DiscardAsync(id, time.GetUtcNow(), CancellationToken.None);

    /// <summary>One page of conversations with held events, failing heads first.</summary>
    internal Task<IReadOnlyList<HeldConversation>> HeldAsync(int page, int pageSize) =>
        store.HeldConversationsAsync(Math.Max(0, page) * pageSize, pageSize, CancellationToken.None);

    /// <summary>A conversation's held and set-aside events in order, without bodies.</summary>
    internal async Task<IReadOnlyList<DeliveryView>> ConversationAsync(string conversationId) =>
        (await store.ConversationAsync(conversationId, CancellationToken.None)).Select(DeliveryView.Of).ToList();

    /// <summary>The attempts of a conversation's held and set-aside events, by event then time.</summary>
    internal Task<IReadOnlyList<DeliveryAttempt>> AttemptsAsync(string conversationId) => store.AttemptsAsync(conversationId, CancellationToken.None);

    /// <summary>
    /// The decrypted body of one held or set-aside event of the conversation, as text; null with the reason when there is
    /// no such event or its body cannot be read. The caller audits that it was shown.
    /// </summary>
    internal async Task<(string? Body, string? Why)> BodyAsync(string conversationId, long id)
    {
        var stored = (await store.ConversationAsync(conversationId, CancellationToken.None)).FirstOrDefault(e => e.Id == id);
        return stored switch
        {
            null => (null, "no such held event in this conversation"),
            { Unreadable: { } why } => (null, why == UnprotectResult.MissingKey ? $"encrypted with key '{stored.KeyId}', which this gateway does not hold" : "its body fails authentication (altered)"),
            _ => (System.Text.Encoding.UTF8.GetString(stored.Body), null),
        };
    }

    /// <summary>The conversation a conversation id, an event id or an idempotency key names, or null.</summary>
    public Task<string?> FindAsync(string term) => store.FindConversationAsync(term.Trim(), CancellationToken.None);

    /// <summary>Its pending head due now, and the worker woken; false when it is not a pending head.</summary>
    public async Task<bool> RetryNowAsync(long id)
    {
        var done = await store.RetryNowAsync(id, time.GetUtcNow(), CancellationToken.None);
        worker.Wake();
        return done;
    }

    /// <summary>The head set aside (kept, replayable) so the rest of its conversation goes on; false when it is not a head.</summary>
    public async Task<bool> SkipAsync(long id, string who)
    {
        var done = await store.SkipAsync(id, "skipped by " + who, time.GetUtcNow(), CancellationToken.None);
        worker.Wake();
        return done;
    }

    /// <summary>Counts by state and the receive time of the oldest pending event.</summary>
    public Task<(IReadOnlyDictionary<string, long> Counts, DateTimeOffset? OldestPending)> StatsAsync() => store.StatsAsync(CancellationToken.None);
}
