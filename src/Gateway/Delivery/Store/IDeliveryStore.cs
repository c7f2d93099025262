namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Durable storage of parked events with per-conversation order: the one seam between the delivery
/// logic and SQLite or PostgreSQL (both tested for real, no mocks).
/// </summary>
internal interface IDeliveryStore
{
    /// <summary>Creates or migrates the tables; a store that cannot be opened throws.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Commits the event (and its key) durably in <paramref name="state"/>; returns its id.</summary>
    Task<long> ParkAsync(StoredEvent parked, string state, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Commits several events (and their keys) in one transaction, in the order given; returns what became of each in
    /// that order (its id, or for a park that asked for its key to be checked, the key's earlier answer), only after the
    /// commit. When it fails, none of them is kept.
    /// </summary>
    Task<IReadOnlyList<ParkResult>> ParkManyAsync(IReadOnlyList<ParkRequest> parks, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Leases up to <paramref name="max"/> due events, each the oldest held event of its conversation, so
    /// no two events of one conversation are ever in flight: those OCP® pushed back first, then the most recently
    /// due. Each claim counts an attempt (a pushback gives it back in <see cref="FinishAsync"/>). Expired leases are
    /// taken over.
    /// </summary>
    Task<IReadOnlyList<StoredEvent>> ClaimAsync(string owner, DateTimeOffset now, TimeSpan lease, int max, CancellationToken cancellationToken);

    /// <summary>
    /// Records a round of attempts in one transaction (one disk sync, not one per event): each leased
    /// event still held by <paramref name="owner"/> is completed (<c>Outcome</c> set) or put back for
    /// <c>NextAttempt</c> with its <c>Error</c>. Returns how many were still held by the owner and recorded;
    /// a delivered head hands its conversation on to the next held event.
    /// </summary>
    Task<int> FinishAsync(string owner, IReadOnlyList<AttemptResult> results, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="FinishAsync"/> then <see cref="ClaimAsync"/> in one transaction: the redelivery worker's round, one
    /// commit rather than two, and a head the results promoted is claimed on the page they just changed. All or nothing.
    /// </summary>
    Task<(int Recorded, IReadOnlyList<StoredEvent> Claimed)> FinishAndClaimAsync(string owner, IReadOnlyList<AttemptResult> results,
        DateTimeOffset now, TimeSpan lease, int max, CancellationToken cancellationToken);

    /// <summary>Dead-letters the event and every later held event of its conversation.</summary>
    Task<int> DeadLetterAsync(long id, string error, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Events past their deadline that are not being delivered (a dead head blocks nothing later): dead-letter them.</summary>
    Task<IReadOnlyList<long>> ExpiredAsync(DateTimeOffset deadline, CancellationToken cancellationToken);

    /// <summary>
    /// The live step's one read per event: the key's earlier answer (status and event id, when accepted after
    /// <paramref name="since"/>) and whether the conversation has events the store still holds: null (none),
    /// <see cref="DeliveryStates.Pending"/> (pending or leased ones) or <see cref="DeliveryStates.Dead"/>.
    /// <paramref name="eventAt"/> is the event's own timestamp (<see cref="ConversationKey.Read"/>). A store its
    /// process alone writes may answer from memory: a key with an earlier answer then comes without its conversation's
    /// state (the caller answers the resend and does not look at it); a new key's is null only when nothing is held.
    /// </summary>
    ValueTask<((int Status, long? Id)? Earlier, string? Blocking)> LookupAsync(string key, long eventAt, DateTimeOffset since, string conversationId, CancellationToken cancellationToken);

    /// <summary>
    /// True when the store can tell without a read whether <paramref name="key"/> has an earlier answer accepted after
    /// <paramref name="since"/> (a store its process alone writes remembers every recent key): then
    /// <paramref name="earlier"/> is that answer, or null for a new key. False when only a read can tell
    /// (<see cref="LookupAsync"/>, or a park with <see cref="ParkRequest.CheckKeySince"/>). Says nothing about the conversation.
    /// </summary>
    bool TryRecallKey(string key, long eventAt, DateTimeOffset since, out (int Status, long? Id)? earlier);

    /// <summary>
    /// Puts the key of an event OCP® just took into the store's memory of recent keys, where it keeps one (it is
    /// written later, in a batch); false where it keeps none, so the caller must remember it until written.
    /// </summary>
    bool Remember(AcceptedKey key);

    /// <summary>Remembers keys of events OCP® took directly (written in batches, off the response path).</summary>
    Task RecordKeysAsync(IReadOnlyList<AcceptedKey> keys, CancellationToken cancellationToken);

    /// <summary>Events in a state, oldest first (bodies included: the admin API leaves them out).</summary>
    Task<IReadOnlyList<StoredEvent>> ListAsync(string state, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Conversations with held events (pending, leased or dead), one row each with its head: those whose head has failed
    /// (attempts made, or dead) first, most recently due first; <paramref name="offset"/> and <paramref name="limit"/> page.
    /// </summary>
    Task<IReadOnlyList<HeldConversation>> HeldConversationsAsync(int offset, int limit, CancellationToken cancellationToken);

    /// <summary>A conversation's held and set-aside events (pending, leased, dead, stale), in order.</summary>
    Task<IReadOnlyList<StoredEvent>> ConversationAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>The attempts of the events <see cref="ConversationAsync"/> lists, by event then time.</summary>
    Task<IReadOnlyList<DeliveryAttempt>> AttemptsAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>The conversation a search term names: a conversation id, a stored event's id, or an event's idempotency key; null when none.</summary>
    Task<string?> FindConversationAsync(string term, CancellationToken cancellationToken);

    /// <summary>Makes a pending head due now (an operator's "retry now"); false when it is not a pending head.</summary>
    Task<bool> RetryNowAsync(long id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Sets a pending or dead head aside (state <c>stale</c>, reason <paramref name="reason"/>: kept, replayable, not
    /// blocking) so the rest of its conversation goes on; false when it is not such a head.
    /// </summary>
    Task<bool> SkipAsync(long id, string reason, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Moves dead events back to pending (one, with the dead events behind it in its conversation, or all).</summary>
    Task<int> ReplayAsync(long? id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Discards one held event; the next of its conversation becomes its head.</summary>
    Task<bool> DiscardAsync(long id, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Counts by state and the time the oldest pending event was received.</summary>
    Task<(IReadOnlyDictionary<string, long> Counts, DateTimeOffset? OldestPending)> StatsAsync(CancellationToken cancellationToken);

    /// <summary>Counts by state: reads every row, so its cost grows with the store (periodic readers go through <see cref="QueueCounts"/>).</summary>
    Task<IReadOnlyDictionary<string, long>> CountsAsync(CancellationToken cancellationToken);

    /// <summary>The time the oldest held (pending or leased) event was received, through an index; null when none is held.</summary>
    Task<DateTimeOffset?> OldestHeldAsync(CancellationToken cancellationToken);

    /// <summary>Deletes finished events and keys older than <paramref name="before"/>.</summary>
    Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken);

    /// <summary>
    /// Sets aside (state <c>stale</c>, reason <paramref name="reason"/>) the pending events of <paramref name="eventType"/>
    /// that arrived before <paramref name="arrivedBefore"/>; their conversations go on with their next held event.
    /// </summary>
    Task<int> SetAsideStaleAsync(string eventType, DateTimeOffset arrivedBefore, DateTimeOffset now, string reason, CancellationToken cancellationToken);

    /// <summary>Removes the bodies of dead letters that finished before <paramref name="before"/>; the rows stay as tombstones (state <c>expired</c>).</summary>
    Task<int> ExpireDeadLettersAsync(DateTimeOffset before, CancellationToken cancellationToken);

    /// <summary>Removes every stored event of the conversation, in any state, and their keys (erasure on request); returns how many events were removed.</summary>
    Task<int> EraseConversationAsync(string conversationId, CancellationToken cancellationToken);

    /// <summary>
    /// Encrypts stored bodies under the active key, in resumable batches: plaintext ones only (the migration at start), or
    /// also those under older keys (<c>deliveries rekey</c>). Returns how many rows were rewritten.
    /// </summary>
    Task<long> ReencryptAsync(bool plaintextOnly, CancellationToken cancellationToken);

    /// <summary>Rows encrypted with a key this process does not hold, by key id (kept, not delivered).</summary>
    Task<IReadOnlyDictionary<string, long>> MissingKeysAsync(CancellationToken cancellationToken);
}

/// <summary>
/// One event to park and the state it is kept in (<c>pending</c>, or <c>dead</c> behind a dead letter). With
/// <paramref name="ConversationUnread"/> (parked without reading its conversation: OCP® failing) the store keeps a pending
/// event dead behind its conversation's dead letter, if it has one. With <paramref name="CheckKeySince"/> the store first
/// looks, in the park's transaction, for an answer to its key accepted at or after that time: when there is one the event
/// is a resend and is not kept again. The live step asks it of every park: a resend that arrives while the first copy's
/// park is still waiting (Talkdesk's timeout, another replica) is then kept once, and with OCP® failing it is the only
/// look at the key where the store keeps no memory of keys.
/// </summary>
internal readonly record struct ParkRequest(StoredEvent Event, string State, bool ConversationUnread = false, DateTimeOffset? CheckKeySince = null);

/// <summary>
/// What became of a park: kept under <paramref name="Id"/>, or, for a park with <see cref="ParkRequest.CheckKeySince"/>
/// whose key was already answered, not kept again and <paramref name="Earlier"/> holds that answer (status, and event id
/// when it was kept).
/// </summary>
internal readonly record struct ParkResult(long Id, (int Status, long? Id)? Earlier = null);
