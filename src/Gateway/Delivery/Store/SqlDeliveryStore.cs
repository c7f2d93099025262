using System.Data.Common;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The store's SQL, shared by SQLite and PostgreSQL (times are Unix milliseconds, so both read the
/// same); the two differ only in their tables' DDL and in how a claim locks. Written here because no
/// served library keeps per-key order correctly (docs/decisions/0002-store-and-forward.md).
/// </summary>
internal abstract class SqlDeliveryStore(RecentKeys? recent, BodyProtector protector, ILogger? logger = null) : IDeliveryStore, IAsyncDisposable
{
    private const string Columns = "id, idempotency_key, conversation_id, event_type, route_id, request_path, body, received_at, state, attempts, next_attempt_at, last_error, trace_parent, body_key";

    // What an event's body is reduced to once it is no longer needed (delivered, discarded, expired): no bytes. An
    // empty value rather than NULL, so files written before keep their NOT NULL column.
    private static readonly byte[] NoBody = [];

    // Rows whose key this process holds (or plaintext ones): only those are claimed, expired or re-encrypted; a row
    // under a missing key is kept as it is until the key is back. Key ids are validated ([A-Za-z0-9_.-]), so they
    // can stand in the SQL as literals.
    private readonly string _readable = protector.KeyIds.Count == 0 ? "body_key IS NULL"
        : "(body_key IS NULL OR body_key IN (" + string.Join(", ", protector.KeyIds.Select(k => "'" + k + "'")) + "))";

    /// <summary>The encryption of stored bodies.</summary>
    internal BodyProtector Protector => protector;

    // A held event blocks the later events of its conversation until delivered or discarded.
    private const string Blocking = "('pending', 'leased', 'dead')";

    // Each conversation's oldest held event carries head = 1, kept up to date by every write that
    // changes which event that is, so a claim reads the due heads from a small partial index instead
    // of grouping the whole backlog on every round (which made a 20 000-event drain crawl).
    private static readonly (string Filter, string Order, string Index)[] ClaimOrder =
        [("retry_first = 1 AND ", "next_attempt_at, id", "ocp_deliveries_due_first"), (string.Empty, "next_attempt_at DESC, id DESC", "ocp_deliveries_due_heads")];

    private const string Promote =
        $"UPDATE ocp_deliveries SET head = 1 WHERE id = (SELECT MIN(id) FROM ocp_deliveries WHERE conversation_id = @c AND state IN {Blocking}) " +
        "AND NOT EXISTS (SELECT 1 FROM ocp_deliveries WHERE conversation_id = @c AND head = 1)";

    // Run at start (under the migration lock): marks the heads of a store written before the column
    // existed, and mends any conversation left without one.
    private static readonly string[] RepairHeads =
    [
        $"UPDATE ocp_deliveries SET head = 0 WHERE head = 1 AND state NOT IN {Blocking}",
        $"UPDATE ocp_deliveries SET head = 1 WHERE head = 0 AND id IN (SELECT MIN(id) FROM ocp_deliveries WHERE state IN {Blocking} GROUP BY conversation_id) " +
        "AND conversation_id NOT IN (SELECT conversation_id FROM ocp_deliveries WHERE head = 1)",
    ];

    /// <summary>
    /// What the admin API and the console read (kept together so a test can show each one's plan on both engines):
    /// each through an index, so a page is quick under a backlog (bench/console.sh).
    /// </summary>
    internal static class Reads
    {
        // The events an operator sees of a conversation: held, and set aside (stale).
        private const string Kept = "state IN ('pending', 'leased', 'dead', 'stale')";

        /// <summary>One page of heads (from the heads' partial index), sorted; then the held count of those 50 only.</summary>
        public const string Held =
            $"SELECT p.conversation_id, (SELECT COUNT(*) FROM ocp_deliveries c WHERE c.conversation_id = p.conversation_id AND c.state IN {Blocking}), " +
            "p.id, p.event_type, p.state, p.attempts, p.next_attempt_at, p.last_error, p.received_at FROM (" +
            "SELECT h.conversation_id, h.id, h.event_type, h.state, h.attempts, h.next_attempt_at, h.last_error, h.received_at, " +
            "(CASE WHEN h.attempts > 0 OR h.state = 'dead' THEN 0 ELSE 1 END) AS failing FROM ocp_deliveries h WHERE h.head = 1 " +
            "ORDER BY failing, h.next_attempt_at DESC, h.id DESC LIMIT @l OFFSET @o) p ORDER BY p.failing, p.next_attempt_at DESC, p.id DESC";

        public const string List = $"SELECT {Columns} FROM ocp_deliveries WHERE state = @s ORDER BY id LIMIT @l";

        public const string Conversation = $"SELECT {Columns} FROM ocp_deliveries WHERE conversation_id = @c AND {Kept} ORDER BY id LIMIT 1000";

        /// <summary>The attempts of the events <see cref="Conversation"/> lists, through the conversation index, then the attempts' own.</summary>
        public const string Attempts =
            "SELECT delivery_id, attempted_at, outcome, status, error, duration_ms FROM ocp_delivery_attempts WHERE delivery_id IN (" +
            $"SELECT id FROM ocp_deliveries WHERE conversation_id = @c AND {Kept} ORDER BY id LIMIT 1000) ORDER BY delivery_id, attempted_at LIMIT 10000";

        /// <summary>An operator's search, by store id, conversation id and idempotency key; <paramref name="byKey"/> names the key's index.</summary>
        public static string[] Find(string byKey) =>
        [
            "SELECT conversation_id FROM ocp_deliveries WHERE id = @n",
            $"SELECT conversation_id FROM ocp_deliveries WHERE conversation_id = @t AND {Kept} LIMIT 1",
            $"SELECT conversation_id FROM ocp_deliveries WHERE id = (SELECT MAX(id) FROM ocp_deliveries{byKey} WHERE idempotency_key = @t)",
        ];

        public const string Counts = "SELECT state, COUNT(*) FROM ocp_deliveries GROUP BY state";

        // The housekeeping's reads, every second: each through an index on its state, so a backlog of 100,000 costs
        // no more than an empty store (read from the table, they read every held row each second: a drain into an
        // OCP® that took everything ran at ~1,000 events/s, most of it the housekeeping's page reads, bench/drain.sh).
        // One MIN per state rather than MIN over state IN (...), which reads every entry of both states.
        public const string OldestHeld =
            "SELECT MIN(m) FROM (SELECT MIN(received_at) AS m FROM ocp_deliveries WHERE state = 'pending' " +
            "UNION ALL SELECT MIN(received_at) FROM ocp_deliveries WHERE state = 'leased') AS held";

        /// <summary>Held events past <c>MaxAge</c> (<c>@d</c>) whose body this process can read, oldest first.</summary>
        public static string Expired(string readable) =>
            $"SELECT id FROM ocp_deliveries WHERE state = 'pending' AND deadline_from < @d AND {readable} ORDER BY id LIMIT 100";

        /// <summary>
        /// The key ids kept rows are encrypted with, one probe of the key index per id: a skip scan written out, as neither
        /// engine skips through an index by itself. Read each second and on every readiness probe, so its cost must not
        /// grow with the rows: <c>GROUP BY body_key</c> over the rows of missing keys read every entry of the index
        /// (3.3 ms at 100,000 rows, 53 ms while parking into PostgreSQL at full rate), this reads a handful.
        /// </summary>
        public const string KeyIds =
            "WITH RECURSIVE k(id) AS (SELECT MIN(body_key) FROM ocp_deliveries WHERE body_key IS NOT NULL " +
            "UNION ALL SELECT (SELECT MIN(body_key) FROM ocp_deliveries WHERE body_key > k.id) FROM k WHERE k.id IS NOT NULL) " +
            "SELECT id FROM k WHERE id IS NOT NULL";

        /// <summary>The rows kept under one key id (through the key index): only for an id this process does not hold.</summary>
        public const string RowsUnderKey = "SELECT COUNT(*) FROM ocp_deliveries WHERE body_key = @k";

        /// <summary>
        /// Whether a conversation has a dead letter, asked by every park made without reading the conversation (all of them
        /// while OCP® is failing). One probe, whatever the conversation holds: SQLite's conversation index leads with the
        /// state, PostgreSQL's index of dead letters holds nothing else. Without that index, and until the table's first
        /// ANALYZE, PostgreSQL's planner answered it through the index of kept events, reading every held event of the
        /// conversation to find none dead: a cost per park growing with the outage (bench/park.sh).
        /// </summary>
        public const string DeadLetter = "SELECT 1 " + DeadLetterRows;

        private const string DeadLetterRows = "FROM ocp_deliveries WHERE conversation_id = @c AND state = 'dead'";

        /// <summary><see cref="Blocked"/> for the conversation the SQL expression <paramref name="conversation"/> names.</summary>
        public static string BlockedOf(string conversation) => Blocked.Replace("@c", conversation, StringComparison.Ordinal);

        /// <summary>
        /// What holds a conversation, asked by a live event while anything is held (the live lookup): 'dead' when a dead letter
        /// does, else another held state, else null. Two probes rather than one ordered read of every held event.
        /// </summary>
        public const string Blocked =
            $"COALESCE((SELECT 'dead' {DeadLetterRows} LIMIT 1), " +
            $"(SELECT state FROM ocp_deliveries WHERE conversation_id = @c AND state IN {Blocking} LIMIT 1))";
    }

    /// <summary>The recent keys answered from memory, where this process alone writes the store; otherwise null.</summary>
    internal RecentKeys? Recent => recent;

    /// <summary>Opens a connection with the store's per-connection settings applied.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Starts a transaction that takes the write lock now (SQLite) or relies on row locks (PostgreSQL).</summary>
    protected abstract ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>
    /// Serialises write transactions in this process (SQLite: one writer at a time anyway). Microsoft.Data.Sqlite
    /// runs "async" calls synchronously, so writers queuing on the file lock would each block a thread-pool
    /// thread while the lock holder waits for one to continue: under load that starves the pool. Waiting on
    /// this gate instead blocks no thread. Null where the engine queues writers itself (PostgreSQL).
    /// </summary>
    protected virtual SemaphoreSlim? WriteGate => null;

    /// <summary>
    /// Runs a batch of the key writer where the engine wants it: on the caller's thread, or (SQLite, whose driver writes
    /// synchronously) on a thread of the store's own (<see cref="WriterThread"/>). Only the keys go there: parks ran
    /// ~7 % slower on it (bench/park.sh, 10,394 vs 11,121 events/s), as their batches follow one another as fast as they
    /// commit and each would then cross two threads more.
    /// </summary>
    protected virtual Task<T> OnKeyWriterAsync<T>(Func<Task<T>> write) => write();

    /// <summary>Waits (without blocking a thread) for this process's turn to write; dispose to give it back.</summary>
    private async ValueTask<WriteTurn> EnterWriteAsync(CancellationToken cancellationToken)
    {
        var gate = WriteGate;
        if (gate is not null)
        {
            await gate.WaitAsync(cancellationToken);
        }

        return new WriteTurn(gate);
    }

    private readonly struct WriteTurn(SemaphoreSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }

    /// <summary>A statement that lets this connection's commits skip the disk sync (set again on the next open), or null.</summary>
    protected virtual string? KeysWithoutSync => null;

    /// <summary>Statements that create or migrate the tables, run in one transaction.</summary>
    protected abstract IReadOnlyList<string> SchemaStatements { get; }

    /// <summary>What follows the claim query: PostgreSQL's <c>FOR UPDATE SKIP LOCKED</c>, so replicas never claim the same row.</summary>
    protected abstract string ClaimLocking { get; }

    /// <summary>
    /// A statement (parameter <c>@c</c>) that holds the conversation for the rest of the transaction, so two
    /// replicas never decide its head at once; null where a write transaction already excludes all others (SQLite).
    /// </summary>
    protected virtual string? ConversationLock => null;

    private async Task LockConversationAsync(DbConnection connection, DbTransaction transaction, string conversationId, CancellationToken cancellationToken)
    {
        if (ConversationLock is { } sql)
        {
            await using var command = Command(connection, transaction, sql, ("c", conversationId));
            await command.ExecuteScalarAsync(cancellationToken);
        }
    }

    public virtual async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await MigrateAsync(cancellationToken);
        // After the schema's turn is given back: each batch takes its own (the gate is not re-entrant).
        if (await ReencryptAsync(plaintextOnly: true, cancellationToken) > 0)
        {
            using var turn = await EnterWriteAsync(cancellationToken);
            await AfterPlaintextEncryptedAsync(cancellationToken);
        }
    }

    /// <summary>After a plaintext store was encrypted at start: what the engine needs so the old bytes do not linger.</summary>
    protected virtual Task AfterPlaintextEncryptedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        foreach (var statement in SchemaStatements.Concat(RepairHeads).Concat(MoveKeys))
        {
            await ExecuteAsync(connection, transaction, statement, cancellationToken);
        }

        if (recent is not null)
        {
            await LoadRecentKeysAsync(recent, connection, transaction, cancellationToken);
            await RefreshHeldAsync(connection, transaction, cancellationToken);
        }

        // Bodies kept by releases before they were dropped on delivery.
        await ExecuteAsync(connection, transaction,
            "UPDATE ocp_deliveries SET body = @nb, body_key = NULL WHERE state IN ('delivered', 'discarded', 'expired') AND length(body) > 0",
            cancellationToken, ("nb", NoBody));
        await transaction.CommitAsync(cancellationToken);
    }

    // Keys recorded before the key table was ordered by event time (one B-tree page written per random key, the
    // ~70 µs per event of issue #12) move over with event time 0: found by every lookup, never answered from memory.
    private static readonly string[] MoveKeys =
    [
        "CREATE TABLE IF NOT EXISTS ocp_accepted_keys (idempotency_key TEXT PRIMARY KEY, status INTEGER NOT NULL, delivery_id BIGINT NULL, accepted_at BIGINT NOT NULL)",
        "INSERT INTO ocp_event_keys (event_at, idempotency_key, status, delivery_id, accepted_at) " +
        "SELECT 0, idempotency_key, status, delivery_id, accepted_at FROM ocp_accepted_keys WHERE true ON CONFLICT (event_at, idempotency_key) DO NOTHING",
        "DROP TABLE ocp_accepted_keys",
    ];

    /// <summary>
    /// Fills <paramref name="keys"/> from the table: every key at or after the start floor, newest first. Keys with
    /// event time 0 (moved from the old table, so their events' times are unknown) were accepted before this start:
    /// memory answers only for events at least a span younger than the last of them.
    /// </summary>
    private static async Task LoadRecentKeysAsync(RecentKeys keys, DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        var floor = keys.StartFloor();
        await using (var untimed = Command(connection, transaction, "SELECT MAX(accepted_at) FROM ocp_event_keys WHERE event_at = 0"))
        {
            if (await untimed.ExecuteScalarAsync(cancellationToken) is long and var last and not 0)
            {
                floor = Math.Max(floor, last + (long)keys.Window.TotalMilliseconds);
            }
        }

        var rows = new List<(string, long, int, long?, long)>();
        await using var command = Command(connection, transaction,
            "SELECT idempotency_key, event_at, status, delivery_id, accepted_at FROM ocp_event_keys WHERE event_at >= @f ORDER BY event_at DESC LIMIT @n",
            ("f", floor), ("n", keys.Capacity + 1));
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.GetInt64(4)));
            }
        }

        keys.Load(rows, floor);
    }

    // Whether the store may hold events (pending, leased or dead), where this process is its only writer: parks count
    // up (inside the write gate, before the insert) and a check that found none records the count it saw. Only a park
    // adds held events (a replay or a dead letter moves one held event to another held state), so while the two are
    // equal no conversation is blocked and the live step need not ask the table.
    private long _parks = 1;
    private long _parksWhenEmpty;

    private void MayHoldEvents() => Interlocked.Increment(ref _parks);

    private bool NothingHeld => Volatile.Read(ref _parksWhenEmpty) == Volatile.Read(ref _parks);

    /// <summary>Inside a write transaction (so no park runs meanwhile): records that nothing is held, when so.</summary>
    private async Task RefreshHeldAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken)
    {
        if (NothingHeld)
        {
            return;
        }

        var parks = Volatile.Read(ref _parks);
        await using var command = Command(connection, transaction, $"SELECT 1 FROM ocp_deliveries WHERE state IN {Blocking} LIMIT 1");
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            Volatile.Write(ref _parksWhenEmpty, parks);
        }
    }

    public async Task<long> ParkAsync(StoredEvent parked, string state, DateTimeOffset now, CancellationToken cancellationToken) =>
        (await ParkManyAsync([new ParkRequest(parked, state)], now, cancellationToken))[0].Id;

    // The three statements of a park, shared by both engines. The key and the attempt name the new row by the engine's
    // last inserted id (so PostgreSQL can send a whole batch in one round trip), and each returns a row, so a batch's
    // result sets line up with its statements whatever the driver does with statements that return none.
    // An event parked without reading its conversation (@u = 1: the live step parks anyway while OCP® is failing) is kept
    // dead behind the conversation's dead letter, if it has one; otherwise the caller read the conversation and gave the
    // state (no probe then). The head is the conversation's first held event.
    private const string BehindDead = $"(@u = 1 AND EXISTS ({Reads.DeadLetter}))";

    private const string DeliveryInto =
        "INSERT INTO ocp_deliveries (idempotency_key, conversation_id, event_type, route_id, request_path, body, body_key, received_at, deadline_from, state, attempts, next_attempt_at, last_error, finished_at, trace_parent, retry_first, head) ";

    private const string DeliveryValues =
        $"@k, @c, @t, @r, @p, @b, @bk, @at, @at, (CASE WHEN @s = 'dead' OR {BehindDead} THEN 'dead' ELSE @s END), @n, @next, " +
        $"(CASE WHEN @s <> 'dead' AND {BehindDead} THEN '{DeliveryStates.BehindDeadLetter}' ELSE @e END), (CASE WHEN @s = 'dead' OR {BehindDead} THEN @f END), @tp, @rf, " +
        $"(CASE WHEN EXISTS (SELECT 1 FROM ocp_deliveries WHERE conversation_id = @c AND state IN {Blocking}) THEN 0 ELSE 1 END)";

    private const string InsertDelivery = DeliveryInto + "VALUES (" + DeliveryValues + ") RETURNING id";

    private static readonly string[] DeliveryParameters = ["k", "c", "t", "r", "p", "b", "bk", "at", "s", "n", "next", "e", "f", "tp", "rf", "u"];

    // The key's earlier answer within the window (event time 0 too: keys moved from the table before event time ordered it).
    private const string EarlierAnswer =
        "SELECT status, delivery_id FROM ocp_event_keys WHERE event_at IN (@ev, 0) AND idempotency_key = @k AND accepted_at >= @since LIMIT 1";

    private static readonly string[] EarlierParameters = ["ev", "k", "since"];

    // A park that checks its key (ParkRequest.CheckKeySince), for PostgreSQL's batch: the look-up, the event, its key and
    // its live attempt (if any) in one statement, so the check costs neither a round trip nor a statement of its own. Its
    // one row is the new id, or the earlier answer (then nothing is written).
    private const string CheckedInsertStart =
        $"WITH earlier AS ({EarlierAnswer}), " +
        $"kept AS ({DeliveryInto}SELECT {DeliveryValues} WHERE NOT EXISTS (SELECT 1 FROM earlier) RETURNING id), " +
        "keyed AS (INSERT INTO ocp_event_keys (event_at, idempotency_key, status, delivery_id, accepted_at) SELECT @ev, @k, 202, id, @f FROM kept " +
        "ON CONFLICT (event_at, idempotency_key) DO NOTHING) ";

    private const string CheckedInsertEnd = "SELECT id, NULL::int, NULL::bigint FROM kept UNION ALL SELECT NULL, status, delivery_id FROM earlier";

    private const string CheckedInsert = CheckedInsertStart + CheckedInsertEnd;

    // The same with the failed forward's attempt (typed: its values are not inserted straight into their columns).
    private const string CheckedInsertTried = CheckedInsertStart +
        ", tried AS (INSERT INTO ocp_delivery_attempts (delivery_id, attempted_at, outcome, status, error, duration_ms) " +
        "SELECT id, @a::bigint, @o::text, @st::int, @er::text, @d::bigint FROM kept) " + CheckedInsertEnd;

    private static readonly string[] CheckedParameters = [.. DeliveryParameters, "ev", "since"];

    private static readonly string[] CheckedTriedParameters = [.. CheckedParameters, "a", "o", "st", "er", "d"];

    // A whole batch of parks as one statement over arrays (WritesAsRows: PostgreSQL), for batches without live attempts and
    // with distinct keys (the group commit's batches while OCP® is failing): the server starts its executor once per batch
    // rather than once per event (its CPU per parked event 292 -> 246 µs, bench/park.sh). Each event's row reads as
    // InsertDelivery and CheckedInsert would, run one after another: its key's earlier answer (then nothing is written);
    // kept dead behind a dead letter in the table or one kept earlier in the batch; the head only when nothing is held and
    // no event of the batch came before it in its conversation. Rows go in in arrival order (ORDER BY ord), so ids keep it.
    private const string InsertRows =
        "WITH i AS (SELECT * FROM unnest(@k::text[], @c::text[], @t::text[], @r::text[], @p::text[], @b::bytea[], @bk::text[], @at::bigint[], @s::text[], " +
        "@n::int[], @next::bigint[], @e::text[], @tp::text[], @rf::int[], @u::int[], @ev::bigint[], @since::bigint[]) WITH ORDINALITY " +
        "AS i(k, c, t, r, p, b, bk, at, s, n, nx, e, tp, rf, u, ev, since, ord)), " +
        "l AS (SELECT i.*, x.status AS earlier_status, x.delivery_id AS earlier_id FROM i LEFT JOIN LATERAL (SELECT status, delivery_id FROM ocp_event_keys " +
        "WHERE i.since IS NOT NULL AND event_at IN (i.ev, 0) AND idempotency_key = i.k AND accepted_at >= i.since LIMIT 1) x ON true), " +
        "f AS (SELECT l.*, (l.u = 1 AND EXISTS (SELECT 1 FROM ocp_deliveries WHERE conversation_id = l.c AND state = 'dead')) AS dead0, " +
        $"EXISTS (SELECT 1 FROM ocp_deliveries WHERE conversation_id = l.c AND state IN {Blocking}) AS held0 FROM l WHERE l.earlier_status IS NULL), " +
        "o AS (SELECT f.*, row_number() OVER w AS nth, " +
        "COALESCE(bool_or(f.s = 'dead' OR f.dead0) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS dead_before " +
        "FROM f WINDOW w AS (PARTITION BY f.c ORDER BY f.ord)), " +
        "d AS (SELECT o.*, (o.s = 'dead' OR o.dead0 OR (o.u = 1 AND o.dead_before)) AS dead FROM o), " +
        $"kept AS ({DeliveryInto}SELECT k, c, t, r, p, b, bk, at, at, (CASE WHEN dead THEN 'dead' ELSE s END), n, nx, " +
        $"(CASE WHEN s <> 'dead' AND dead THEN '{DeliveryStates.BehindDeadLetter}' ELSE e END), (CASE WHEN dead THEN @f END), tp, rf, " +
        "(CASE WHEN held0 OR nth > 1 THEN 0 ELSE 1 END) FROM d ORDER BY ord RETURNING id, idempotency_key), " +
        "keyed AS (INSERT INTO ocp_event_keys (event_at, idempotency_key, status, delivery_id, accepted_at) " +
        "SELECT i.ev, kept.idempotency_key, 202, kept.id, @f FROM kept JOIN i ON i.k = kept.idempotency_key ON CONFLICT (event_at, idempotency_key) DO NOTHING) " +
        "SELECT kept.id, l.earlier_status, l.earlier_id FROM l LEFT JOIN kept ON kept.idempotency_key = l.k ORDER BY l.ord";

    /// <summary>
    /// Whether batches go as one statement over arrays (PostgreSQL's unnest): a park batch (<c>InsertRows</c>) and the live
    /// lookups that arrive together (<see cref="LookupBatcher"/>).
    /// </summary>
    protected virtual bool WritesAsRows => false;

    private string InsertKey =>
        $"INSERT INTO ocp_event_keys (event_at, idempotency_key, status, delivery_id, accepted_at) VALUES (@e, @k, 202, {LastInsertedId}, @at) " +
        "ON CONFLICT (event_at, idempotency_key) DO NOTHING RETURNING status";

    private static readonly string[] KeyParameters = ["e", "k", "at"];

    // After the key: SQLite's last_insert_rowid() moves with this rowid table's insert (not with the keys' WITHOUT ROWID one).
    private string InsertLiveAttempt =>
        $"INSERT INTO ocp_delivery_attempts (delivery_id, attempted_at, outcome, status, error, duration_ms) VALUES ({LastInsertedId}, @a, @o, @st, @er, @d) RETURNING delivery_id";

    private static readonly string[] AttemptParameters = ["a", "o", "st", "er", "d"];

    /// <summary>The SQL for the id of the row this connection inserted last (SQLite's <c>last_insert_rowid()</c>, PostgreSQL's <c>lastval()</c>).</summary>
    protected abstract string LastInsertedId { get; }

    /// <summary>
    /// A statement (parameter <c>@cs</c>, the conversation ids in ordinal order) that holds every conversation of a park
    /// batch for the rest of the transaction, in that order; null where a write transaction excludes all others (SQLite).
    /// </summary>
    protected virtual string? ConversationsLock => null;

    /// <summary>
    /// Parks events in one transaction (group commit: one commit, one disk sync, for all of them), in the order given,
    /// so a conversation's events keep their arrival order within a batch and across batches. What became of each (its id,
    /// or its key's earlier answer) comes back in the same order, and only once the transaction has committed; when it
    /// fails, none of the events is kept.
    /// </summary>
    public async Task<IReadOnlyList<ParkResult>> ParkManyAsync(IReadOnlyList<ParkRequest> parks, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = new object?[parks.Count][];
        var eventAts = new long[parks.Count];
        for (var i = 0; i < parks.Count; i++)
        {
            // Encrypted before the write turn: the store's one writer spends its time on the write only.
            var (parked, state, _, _) = parks[i];
            var (stored, keyId) = protector.Protect(parked.Body, parked.IdempotencyKey, parked.ConversationId);
            rows[i] =
            [
                parked.IdempotencyKey, parked.ConversationId, parked.EventType, parked.RouteId, parked.RequestPath, stored, keyId, Ms(parked.ReceivedAt),
                state, parked.Attempts, Ms(parked.NextAttemptAt), parked.LastError, Ms(now), parked.TraceParent,
                parked.RetryFirst ? 1 : 0, parks[i].ConversationUnread ? 1 : 0,
            ];
            eventAts[i] = ConversationKey.TimeOf(parked.Body);
        }

        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        MayHoldEvents();
        var results = connection.CanCreateBatch
            ? await ParkInOneRoundTripAsync(connection, transaction, parks, rows, eventAts, now, cancellationToken)
            : await ParkOnPreparedStatementsAsync(connection, transaction, parks, rows, eventAts, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (recent is not null)
        {
            for (var i = 0; i < parks.Count; i++)
            {
                if (results[i].Earlier is null)
                {
                    recent.Add(parks[i].Event.IdempotencyKey, eventAts[i], 202, results[i].Id, Ms(now));
                }
            }
        }

        return results;
    }

    // SQLite (no DbBatch; a statement costs no round trip): the statements prepared once per batch, rebound per event.
    private async Task<ParkResult[]> ParkOnPreparedStatementsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<ParkRequest> parks,
        object?[][] rows, long[] eventAts, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var delivery = Prepared(connection, transaction, InsertDelivery, DeliveryParameters);
        await using var key = Prepared(connection, transaction, InsertKey, KeyParameters);
        await using var attempt = Prepared(connection, transaction, InsertLiveAttempt, AttemptParameters);
        DbCommand? earlier = null;
        var results = new ParkResult[parks.Count];
        try
        {
            for (var i = 0; i < parks.Count; i++)
            {
                if (parks[i].CheckKeySince is { } since)
                {
                    earlier ??= Prepared(connection, transaction, EarlierAnswer, EarlierParameters);
                    Bind(earlier, eventAts[i], parks[i].Event.IdempotencyKey, Ms(since));
                    await using var reader = await earlier.ExecuteReaderAsync(cancellationToken);
                    if (await reader.ReadAsync(cancellationToken))
                    {
                        results[i] = new ParkResult(0, EarlierAt(reader, 0));
                        continue;
                    }
                }

                results[i] = new ParkResult(await ParkOneAsync(delivery, key, attempt, parks[i], rows[i], eventAts[i], now, cancellationToken));
            }
        }
        finally
        {
            if (earlier is not null)
            {
                await earlier.DisposeAsync();
            }
        }

        return results;
    }

    private static async Task<long> ParkOneAsync(DbCommand delivery, DbCommand key, DbCommand attempt, ParkRequest park, object?[] row, long eventAt,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        Bind(delivery, row);
        var id = Convert.ToInt64(await delivery.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        Bind(key, eventAt, park.Event.IdempotencyKey, Ms(now));
        await key.ExecuteNonQueryAsync(cancellationToken);
        if (park.Event.LiveAttempt is { } live)
        {
            Bind(attempt, AttemptValues(live));
            await attempt.ExecuteNonQueryAsync(cancellationToken);
        }

        return id;
    }

    // PostgreSQL: the conversations' locks and every event's statements in one DbBatch, so a batch of N events costs
    // one round trip and one commit rather than 3N round trips.
    private async Task<ParkResult[]> ParkInOneRoundTripAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<ParkRequest> parks,
        object?[][] rows, long[] eventAts, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = connection.CreateBatch();
        batch.Transaction = transaction;
        if (ParkTimeout is { } timeout)
        {
            // The driver's command timeout (whole seconds) covers the conversations' locks and every insert: a store
            // that hangs fails the batch (rolled back, 503 to each event) instead of holding its callers.
            batch.Timeout = (int)Math.Ceiling(timeout.TotalSeconds);
        }

        if (ConversationsLock is { } lockSql)
        {
            var conversations = parks.Select(p => p.Event.ConversationId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            Add(batch, lockSql, ["cs"], [conversations]);
        }

        if (WritesAsRows && parks.Count > 0 && parks.All(p => p.Event.LiveAttempt is null) && parks.Select(p => p.Event.IdempotencyKey).Distinct(StringComparer.Ordinal).Count() == parks.Count)
        {
            return await ParkAsRowsAsync(batch, parks, rows, eventAts, cancellationToken);
        }

        var deliveryResults = new int[parks.Count];
        for (var i = 0; i < parks.Count; i++)
        {
            deliveryResults[i] = batch.BatchCommands.Count;
            if (parks[i].CheckKeySince is { } since)
            {
                if (parks[i].Event.LiveAttempt is { } tried)
                {
                    Add(batch, CheckedInsertTried, CheckedTriedParameters, [.. rows[i], eventAts[i], Ms(since), .. AttemptValues(tried)]);
                }
                else
                {
                    Add(batch, CheckedInsert, CheckedParameters, [.. rows[i], eventAts[i], Ms(since)]);
                }

                continue;
            }

            Add(batch, InsertDelivery, DeliveryParameters, rows[i]);
            Add(batch, InsertKey, KeyParameters, [eventAts[i], parks[i].Event.IdempotencyKey, Ms(now)]);
            if (parks[i].Event.LiveAttempt is { } live)
            {
                Add(batch, InsertLiveAttempt, AttemptParameters, AttemptValues(live));
            }
        }

        var results = new ParkResult[parks.Count];
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var result = 0;
        var next = 0;
        do
        {
            if (next < results.Length && result == deliveryResults[next] && await reader.ReadAsync(cancellationToken))
            {
                results[next++] = ReadParkResult(reader);
            }

            result++;
        }
        while (await reader.NextResultAsync(cancellationToken));

        return next == results.Length ? results : throw new InvalidOperationException($"The park batch returned {next} results for {results.Length} events.");
    }

    // The batch's values as one array per column, in InsertRows' order; its one result set has a row per event, in order.
    private static async Task<ParkResult[]> ParkAsRowsAsync(DbBatch batch, IReadOnlyList<ParkRequest> parks, object?[][] rows, long[] eventAts,
        CancellationToken cancellationToken)
    {
        var n = parks.Count;
        T[] Column<T>(int index) => [.. rows.Select(row => (T)row[index]!)];
        Add(batch, InsertRows, ["k", "c", "t", "r", "p", "b", "bk", "at", "s", "n", "next", "e", "tp", "rf", "u", "ev", "since", "f"],
        [
            Column<string>(0), Column<string>(1), Column<string>(2), Column<string>(3), Column<string>(4), Column<byte[]>(5), Column<string?>(6),
            Column<long>(7), Column<string>(8), Column<int>(9), Column<long>(10), Column<string?>(11), Column<string?>(13), Column<int>(14),
            Column<int>(15), eventAts, parks.Select(p => p.CheckKeySince is { } since ? Ms(since) : (long?)null).ToArray(), rows[0][12],
        ]);
        var results = new ParkResult[n];
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (batch.BatchCommands.Count > 1)
        {
            await reader.NextResultAsync(cancellationToken); // past the locks' row
        }

        var next = 0;
        while (next < n && await reader.ReadAsync(cancellationToken))
        {
            results[next++] = ReadParkResult(reader);
        }

        return next == n ? results : throw new InvalidOperationException($"The park batch returned {next} results for {n} events.");
    }

    // A park's row on PostgreSQL: its id, or (id null) its key's earlier answer in the next two columns.
    private static ParkResult ReadParkResult(DbDataReader reader) =>
        reader.IsDBNull(0) ? new ParkResult(0, EarlierAt(reader, 1)) : new ParkResult(reader.GetInt64(0));

    // A key's earlier answer read from two columns: its status, and the event's id when it was kept.
    private static (int Status, long? Id) EarlierAt(DbDataReader reader, int column) =>
        (reader.GetInt32(column), reader.IsDBNull(column + 1) ? null : reader.GetInt64(column + 1));

    private static object?[] AttemptValues(DeliveryAttempt attempt) =>
        [Ms(attempt.At), attempt.Outcome, attempt.Status, attempt.Error, (long)attempt.Duration.TotalMilliseconds];

    private static DbCommand Prepared(DbConnection connection, DbTransaction transaction, string sql, string[] names)
    {
        var command = Command(connection, transaction, sql);
        foreach (var name in names)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = Named(command, name);
            command.Parameters.Add(parameter);
        }

        command.Prepare();
        return command;
    }

    private static void Bind(DbCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    private static DbBatchCommand Add(DbBatch batch, string sql, (string Name, object? Value)[] parameters) =>
        Add(batch, sql, [.. parameters.Select(p => p.Name)], [.. parameters.Select(p => p.Value)]);

    private static DbBatchCommand Add(DbBatch batch, string sql, string[] names, object?[] values)
    {
        var command = batch.CreateBatchCommand();
        command.CommandText = sql;
        for (var i = 0; i < names.Length; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = names[i];
            parameter.Value = values[i] ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        batch.BatchCommands.Add(command);
        return command;
    }

    public async Task<IReadOnlyList<StoredEvent>> ClaimAsync(string owner, DateTimeOffset now, TimeSpan lease, int max, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        var claimed = await ClaimInAsync(connection, transaction, owner, now, lease, max, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return claimed;
    }

    public async Task<(int Recorded, IReadOnlyList<StoredEvent> Claimed)> FinishAndClaimAsync(string owner, IReadOnlyList<AttemptResult> results,
        DateTimeOffset now, TimeSpan lease, int max, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        var recorded = await FinishInAsync(connection, transaction, owner, results, now, cancellationToken);
        var claimed = await ClaimInAsync(connection, transaction, owner, now, lease, max, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (recorded, claimed);
    }

    private async Task<IReadOnlyList<StoredEvent>> ClaimInAsync(DbConnection connection, DbTransaction transaction, string owner, DateTimeOffset now,
        TimeSpan lease, int max, CancellationToken cancellationToken)
    {
        // A replica that died leaves its leases behind: once they run out, the events are pending again.
        await ExecuteAsync(connection, transaction,
            "UPDATE ocp_deliveries SET state = 'pending', lease_owner = NULL WHERE state = 'leased' AND lease_until < @now",
            cancellationToken, ("now", Ms(now)));
        var claimed = new List<StoredEvent>(max);
        // Events OCP® pushed back (429, 503 with Retry-After) first, once their wait is over: the push-back was about
        // OCP®'s capacity, not the event, so it keeps its place ahead of the backlog. Then the most recently due: a
        // customer still chatting before one who left during the outage (order within a conversation is the heads'), and
        // an event parked since OCP® came back does not wait behind the whole backlog. Two statements, each on its own
        // partial index, rather than one ORDER BY retry_first that would scan every not-yet-due head.
        foreach (var step in ClaimStatements)
        {
            if (claimed.Count == max)
            {
                break;
            }

            await using var claim = Command(connection, transaction, step,
                ("o", owner), ("u", Ms(now + lease)), ("now", Ms(now)), ("max", max - claimed.Count));
            await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed.Add(Read(reader));
            }
        }

        await RejectUnreadableAsync(connection, transaction, claimed, now, cancellationToken);
        if (recent is not null)
        {
            // The worker's every round: after a redelivery or a discard the live step can skip the table again.
            await RefreshHeldAsync(connection, transaction, cancellationToken);
            recent.SweepIfDue();
        }

        return claimed;
    }

    /// <summary>The claim's statements, in order (a test reads their plans); built once, as they depend only on the engine.</summary>
    internal IReadOnlyList<string> ClaimStatements => _claimStatements ??= [.. ClaimOrder.Select(c => ClaimSql(c.Filter, c.Order, c.Index))];

    private string[]? _claimStatements;

    private string ClaimSql(string first, string order, string index) =>
        "UPDATE ocp_deliveries SET state = 'leased', lease_owner = @o, lease_until = @u, attempts = attempts + 1 WHERE " +
        IdIn($"SELECT id FROM ocp_deliveries{IndexHint(index)} WHERE {first}head = 1 AND state = 'pending' AND next_attempt_at <= @now AND {_readable} ORDER BY {order} LIMIT @max{ClaimLocking}") +
        $" RETURNING {Columns}";

    /// <summary>The condition "id is one of what <paramref name="subquery"/> selects".</summary>
    protected virtual string IdIn(string subquery) => $"id IN ({subquery})";

    /// <summary>
    /// Names the index a claim must use, where the engine's planner would otherwise pick a worse one; empty where its
    /// statistics choose well (PostgreSQL analyzes by itself).
    /// </summary>
    protected virtual string IndexHint(string index) => string.Empty;

    public async Task<int> FinishAsync(string owner, IReadOnlyList<AttemptResult> results, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (results.Count == 0)
        {
            return 0;
        }

        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        var recorded = await FinishInAsync(connection, transaction, owner, results, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return recorded;
    }

    private async Task<int> FinishInAsync(DbConnection connection, DbTransaction transaction, string owner, IReadOnlyList<AttemptResult> results,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (results.Count == 0)
        {
            return 0;
        }

        // Conversations locked in one order, so two replicas finishing rounds never deadlock.
        var ordered = results.OrderBy(r => r.ConversationId, StringComparer.Ordinal).ToArray();
        return connection.CanCreateBatch
            ? await FinishInOneRoundTripAsync(connection, transaction, owner, ordered, now, cancellationToken)
            : await FinishOneByOneAsync(connection, transaction, owner, ordered, now, cancellationToken);
    }

    private const string Delivered =
        "UPDATE ocp_deliveries SET state = 'delivered', head = 0, lease_owner = NULL, finished_at = @now, last_error = @e, body = @nb, body_key = NULL WHERE id = @id AND state = 'leased' AND lease_owner = @o";

    private const string PushedBackAgain =
        "UPDATE ocp_deliveries SET state = 'pending', lease_owner = NULL, next_attempt_at = @n, last_error = @e, attempts = attempts - 1, retry_first = 1 " +
        "WHERE id = @id AND state = 'leased' AND lease_owner = @o";

    private const string Rescheduled =
        "UPDATE ocp_deliveries SET state = 'pending', lease_owner = NULL, next_attempt_at = @n, last_error = @e, retry_first = 0 WHERE id = @id AND state = 'leased' AND lease_owner = @o";

    private const string InsertAttempt =
        "INSERT INTO ocp_delivery_attempts (delivery_id, attempted_at, outcome, status, error, duration_ms) VALUES (@id, @at, @ao, @s, @ae, @d)";

    /// <summary>A result's update: delivered; pushed back (not an attempt against the event: its count is given back and it goes first next time); or rescheduled.</summary>
    private static (string Sql, (string, object?)[] Parameters) FinishUpdate(AttemptResult result, string owner, DateTimeOffset now) =>
        result.Outcome is { } outcome
            ? (Delivered, [("now", Ms(now)), ("e", outcome), ("nb", NoBody), ("id", result.Id), ("o", owner)])
            : (result.PushedBack ? PushedBackAgain : Rescheduled, [("n", Ms(result.NextAttempt)), ("e", result.Error), ("id", result.Id), ("o", owner)]);

    private static (string, object?)[] AttemptParametersOf(long id, DeliveryAttempt attempt) =>
        [("id", id), ("at", Ms(attempt.At)), ("ao", attempt.Outcome), ("s", attempt.Status), ("ae", attempt.Error), ("d", (long)attempt.Duration.TotalMilliseconds)];

    // SQLite (no round trips to save): statement by statement, the attempt and the next head only for a lease still held.
    // Each statement is prepared once per round and rebound per result: parsing and planning three or four statements
    // per delivered event showed in a drain's profile (sqlite3RunParser and the planner, bench/drain.sh).
    private async Task<int> FinishOneByOneAsync(DbConnection connection, DbTransaction transaction, string owner, AttemptResult[] results,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var prepared = new Dictionary<string, DbCommand>(StringComparer.Ordinal);
        try
        {
            var recorded = 0;
            foreach (var result in results)
            {
                if (result.Outcome is not null)
                {
                    await LockConversationAsync(connection, transaction, result.ConversationId, cancellationToken);
                }

                var (sql, parameters) = FinishUpdate(result, owner, now);
                var count = await RunAsync(sql, parameters);
                if (count > 0 && result.Outcome is not null)
                {
                    await RunAsync(Promote, [("c", result.ConversationId)]);
                }

                recorded += count;
                // Only for a lease still held: a lease taken over by another replica records that replica's attempt instead.
                if (count > 0 && result.Attempt is { } attempt)
                {
                    await RunAsync(InsertAttempt, AttemptParametersOf(result.Id, attempt));
                }
            }

            return recorded;
        }
        finally
        {
            foreach (var command in prepared.Values)
            {
                await command.DisposeAsync();
            }
        }

        // The same SQL always comes with the same parameters in the same order (FinishUpdate, AttemptParametersOf).
        async Task<int> RunAsync(string sql, (string Name, object? Value)[] parameters)
        {
            if (!prepared.TryGetValue(sql, out var command))
            {
                command = Prepared(connection, transaction, sql, [.. parameters.Select(p => p.Name)]);
                prepared.Add(sql, command);
            }

            for (var i = 0; i < parameters.Length; i++)
            {
                command.Parameters[i].Value = parameters[i].Value ?? DBNull.Value;
            }

            return await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    // PostgreSQL: a round's results in one DbBatch (one round trip rather than up to four per result), the delivered
    // events' conversations locked first in one order. The attempt rides on its update (a data-modifying CTE), so it is
    // written only for a lease still held; the next head is promoted after every delivered result, a no-op where the
    // conversation still has one (a lease another replica took over keeps its head).
    private async Task<int> FinishInOneRoundTripAsync(DbConnection connection, DbTransaction transaction, string owner, AttemptResult[] results,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var batch = connection.CreateBatch();
        batch.Transaction = transaction;
        if (ConversationsLock is { } lockSql)
        {
            var conversations = results.Where(r => r.Outcome is not null).Select(r => r.ConversationId).Distinct(StringComparer.Ordinal).ToArray();
            if (conversations.Length > 0)
            {
                Add(batch, lockSql, ["cs"], [conversations]);
            }
        }

        var updates = new List<DbBatchCommand>(results.Length);
        foreach (var result in results)
        {
            var (sql, parameters) = FinishUpdate(result, owner, now);
            if (result.Attempt is { } attempt)
            {
                sql = $"WITH finished AS ({sql} RETURNING id) INSERT INTO ocp_delivery_attempts (delivery_id, attempted_at, outcome, status, error, duration_ms) " +
                    "SELECT id, @at, @ao, @s, @ae, @d FROM finished";
                parameters = [.. parameters, .. AttemptParametersOf(result.Id, attempt).Where(p => p.Item1 != "id")];
            }

            updates.Add(Add(batch, sql, parameters));
            if (result.Outcome is not null)
            {
                Add(batch, Promote, ["c"], [result.ConversationId]);
            }
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return updates.Sum(u => u.RecordsAffected);
    }

    public async Task<IReadOnlyList<DeliveryAttempt>> AttemptsAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // The same events ConversationAsync lists (its first 1,000), each attempt in order; through the conversation index,
        // then the attempts' own (delivery_id, attempted_at).
        await using var command = Command(connection, null, Reads.Attempts, ("c", conversationId));
        var attempts = new List<DeliveryAttempt>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            attempts.Add(new DeliveryAttempt(reader.GetInt64(0), FromMs(reader.GetInt64(1)), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt32(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), TimeSpan.FromMilliseconds(reader.GetInt64(5))));
        }

        return attempts;
    }

    public async Task<int> DeadLetterAsync(long id, string error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        var count = await ExecuteAsync(connection, transaction,
            "UPDATE ocp_deliveries SET state = 'dead', lease_owner = NULL, finished_at = @now, last_error = @e WHERE id = @id AND state IN ('pending', 'leased')",
            cancellationToken, ("now", Ms(now)), ("e", error), ("id", id));
        count += await ExecuteAsync(connection, transaction,
            "UPDATE ocp_deliveries SET state = 'dead', finished_at = @now, last_error = @e WHERE state = 'pending' AND id > @id " +
            "AND conversation_id = (SELECT conversation_id FROM ocp_deliveries WHERE id = @id)",
            cancellationToken, ("now", Ms(now)), ("e", $"behind dead-lettered event {id}"), ("id", id));
        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    public async Task<IReadOnlyList<long>> ExpiredAsync(DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            Reads.Expired(_readable), ("d", Ms(deadline)));
        var ids = new List<long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetInt64(0));
        }

        return ids;
    }

    public ValueTask<((int Status, long? Id)? Earlier, string? Blocking)> LookupAsync(string key, long eventAt, DateTimeOffset since, string conversationId, CancellationToken cancellationToken)
    {
        if (recent is not null && recent.TryFind(key, eventAt, Ms(since), out var remembered) && (remembered is not null || NothingHeld))
        {
            // A resend is answered whatever its conversation holds (the caller answers it at once), a new event
            // only when nothing is held. Synchronously: no task, no state machine on the common path.
            return ValueTask.FromResult<((int Status, long? Id)? Earlier, string? Blocking)>((remembered, null));
        }

        return new(WritesAsRows
            ? LookupBatches.LookupAsync(key, eventAt, Ms(since), conversationId)
            : LookupInTableAsync(key, eventAt, since, conversationId, cancellationToken));
    }

    public bool TryRecallKey(string key, long eventAt, DateTimeOffset since, out (int Status, long? Id)? earlier)
    {
        earlier = null;
        return recent is not null && recent.TryFind(key, eventAt, Ms(since), out earlier);
    }

    private async Task<((int Status, long? Id)? Earlier, string? Blocking)> LookupInTableAsync(string key, long eventAt, DateTimeOffset since, string conversationId, CancellationToken cancellationToken)
    {
        // Every live event asks this: a kept connection with the statement prepared once (parsing and
        // planning it per event was most of the store's CPU per event in bench/profile.sh).
        if (!_lookups.TryTake(out var session))
        {
            session = await LookupSession.OpenAsync(await OpenReadAsync(cancellationToken), cancellationToken);
        }

        var healthy = false;
        try
        {
            var result = await session.RunAsync(key, eventAt, Ms(since), conversationId, cancellationToken);
            healthy = true;
            return result;
        }
        finally
        {
            if (healthy && _lookups.Count < MaxIdleLookups)
            {
                _lookups.Add(session);
            }
            else
            {
                await session.DisposeAsync();
            }
        }
    }

    // Where the store is shared (PostgreSQL), every live event asks the table: the lookups that arrive together go as
    // one statement (LookupBatcher), started with the first.
    private LookupBatcher? _lookupBatches;
    private object? _lookupBatchesLock;

    private LookupBatcher LookupBatches =>
        LazyInitializer.EnsureInitialized(ref _lookupBatches, ref _lookupBatchesLock, () => new LookupBatcher(OpenReadAsync, LookupCommand, LookupTimeout));

    /// <summary>How long a park batch's statements may take (<see cref="DeliveryOptions.ParkTimeout"/>), or null for the driver's own.</summary>
    protected virtual TimeSpan? ParkTimeout => null;

    /// <summary>How long a batch of live lookups may take (<see cref="DeliveryOptions.LookupTimeout"/>).</summary>
    protected virtual TimeSpan LookupTimeout => new DeliveryOptions().LookupTimeout;

    /// <summary>The live lookup for a batch of events (<see cref="LookupBatcher"/>) on <paramref name="connection"/>.</summary>
    internal static DbCommand LookupCommand(DbConnection connection) =>
        Command(connection, null, LookupRows, ("k", Array.Empty<string>()), ("e", Array.Empty<long>()), ("since", Array.Empty<long>()), ("c", Array.Empty<string>()));

    // The live lookup for a batch of events, a row each in their order: the key's earlier answer, and what holds the
    // event's conversation (Reads.Blocked).
    internal static readonly string LookupRows =
        $"SELECT k.status, k.delivery_id, {Reads.BlockedOf("i.c")} " +
        "FROM unnest(@k::text[], @e::bigint[], @since::bigint[], @c::text[]) WITH ORDINALITY AS i(k, e, since, c, ord) " +
        "LEFT JOIN LATERAL (SELECT status, delivery_id FROM ocp_event_keys WHERE event_at IN (i.e, 0) AND idempotency_key = i.k AND accepted_at >= i.since LIMIT 1) k ON true " +
        "ORDER BY i.ord";

    private const int MaxIdleLookups = 16;
    private readonly System.Collections.Concurrent.ConcurrentBag<LookupSession> _lookups = [];

    /// <summary>Closes the kept lookup connections.</summary>
    public virtual async ValueTask DisposeAsync()
    {
        while (_lookups.TryTake(out var session))
        {
            await session.DisposeAsync();
        }

        if (Volatile.Read(ref _lookupBatches) is { } batches)
        {
            await batches.DisposeAsync();
        }
    }

    /// <summary>One open connection with the live lookup prepared on it; used by one request at a time.</summary>
    private sealed class LookupSession : IAsyncDisposable
    {
        private readonly DbConnection _connection;
        private readonly DbCommand _command;
        private readonly DbParameter _key;
        private readonly DbParameter _since;
        private readonly DbParameter _conversation;
        private readonly DbParameter _eventAt;

        private LookupSession(DbConnection connection)
        {
            _connection = connection;
            _command = Command(connection, null,
                "SELECT k.status, k.delivery_id, " +
                $"{Reads.Blocked} " +
                // Event time 0 too: keys moved from the table before event time ordered it.
                "FROM (SELECT 1 AS one) o LEFT JOIN ocp_event_keys k ON k.event_at IN (@e, 0) AND k.idempotency_key = @k AND k.accepted_at >= @since",
                ("k", string.Empty), ("since", 0L), ("c", string.Empty), ("e", 0L));
            _key = _command.Parameters[0];
            _since = _command.Parameters[1];
            _conversation = _command.Parameters[2];
            _eventAt = _command.Parameters[3];
        }

        public static async Task<LookupSession> OpenAsync(DbConnection connection, CancellationToken cancellationToken)
        {
            var session = new LookupSession(connection);
            await session._command.PrepareAsync(cancellationToken);
            return session;
        }

        public async Task<((int Status, long? Id)? Earlier, string? Blocking)> RunAsync(string key, long eventAt, long since, string conversationId, CancellationToken cancellationToken)
        {
            _key.Value = key;
            _eventAt.Value = eventAt;
            _since.Value = since;
            _conversation.Value = conversationId;
            await using var reader = await _command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            (int, long?)? earlier = reader.IsDBNull(0) ? null : EarlierAt(reader, 0);
            var blocking = reader.IsDBNull(2) ? null : reader.GetString(2) == DeliveryStates.Dead ? DeliveryStates.Dead : DeliveryStates.Pending;
            return (earlier, blocking);
        }

        public async ValueTask DisposeAsync()
        {
            await _command.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }

    /// <summary>A connection for a read on the live path: without the writers' per-connection settings.</summary>
    protected virtual Task<DbConnection> OpenReadAsync(CancellationToken cancellationToken) => OpenAsync(cancellationToken);

    public bool Remember(AcceptedKey key)
    {
        return recent?.Add(key.Key, key.EventAt, key.Status, null, Ms(key.At)) == true;
    }

    public Task RecordKeysAsync(IReadOnlyList<AcceptedKey> keys, CancellationToken cancellationToken) =>
        OnKeyWriterAsync(() => RecordKeyBatchAsync(keys, cancellationToken));

    private async Task<int> RecordKeyBatchAsync(IReadOnlyList<AcceptedKey> keys, CancellationToken cancellationToken)
    {
        if (recent is not null)
        {
            // Those the key writer's Remember already put in memory are left alone: a look-up per key at random in a table of
            // up to a million (bench/load.sh AB_MODE=StoreAndForward: 0.995x CPU per event, within noise).
            foreach (var accepted in keys)
            {
                if (!accepted.Remembered)
                {
                    recent.Add(accepted.Key, accepted.EventAt, accepted.Status, null, Ms(accepted.At));
                }
            }

            recent.SweepIfDue();
        }

        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        if (KeysWithoutSync is { } relaxed)
        {
            // Keys are best effort (losing some only means OCP® may see a repeat under its key): no disk sync.
            await ExecuteAsync(connection, null, relaxed, cancellationToken);
        }

        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        await InsertKeysAsync(connection, transaction, keys, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return keys.Count;
    }

    /// <summary>
    /// Inserts a key writer's batch in its transaction, in the batch's order (a key already kept, or twice in the batch, keeps
    /// its first answer). Ordered by event time first, so live keys land on the table's last pages.
    /// </summary>
    protected abstract Task InsertKeysAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AcceptedKey> keys,
        CancellationToken cancellationToken);

    public async Task<IReadOnlyList<StoredEvent>> ListAsync(string state, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            Reads.List, ("s", state), ("l", limit));
        var events = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(Read(reader));
        }

        return events;
    }

    public async Task<IReadOnlyList<HeldConversation>> HeldConversationsAsync(int offset, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // From the heads' partial index; the count per conversation from the conversation index.
        await using var command = Command(connection, null, Reads.Held, ("l", limit), ("o", offset));
        var rows = new List<HeldConversation>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new HeldConversation(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
                reader.GetInt32(5), FromMs(reader.GetInt64(6)), reader.IsDBNull(7) ? null : reader.GetString(7), FromMs(reader.GetInt64(8))));
        }

        return rows;
    }

    public async Task<IReadOnlyList<StoredEvent>> ConversationAsync(string conversationId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            Reads.Conversation, ("c", conversationId));
        var events = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(Read(reader));
        }

        return events;
    }

    /// <summary>
    /// The search's lookups (store id, conversation id, key), built once. By key: the newest row with it, through the
    /// key's index on PostgreSQL; on SQLite, which keeps no index on a random key (<see cref="SqliteDeliveryStore"/>), a
    /// scan of the received index alone, which holds the key (without the hint SQLite would walk the table by id for the MAX).
    /// </summary>
    internal IReadOnlyList<string> FindStatements => _findStatements ??= Reads.Find(KeySearchHint);

    private string[]? _findStatements;

    /// <summary>The hint that sends a search by idempotency key through the engine's index holding the key.</summary>
    protected virtual string KeySearchHint => string.Empty;

    public async Task<string?> FindConversationAsync(string term, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // One indexed lookup per kind of term (an OR of the three would scan the table): a store id, a conversation id,
        // then an idempotency key last, as on SQLite it is a scan of an index (~12 ms at 100,000 held, bench/console.sh).
        // A key (64 hex digits) is never a conversation id: an event without one is filed under "event:" + its key.
        var id = long.TryParse(term, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1L;
        foreach (var sql in FindStatements)
        {
            await using var command = Command(connection, null, sql, ("t", term), ("n", id));
            if (await command.ExecuteScalarAsync(cancellationToken) is string conversation)
            {
                return conversation;
            }
        }

        return null;
    }

    public async Task<bool> RetryNowAsync(long id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        var count = await ExecuteAsync(connection, transaction,
            "UPDATE ocp_deliveries SET next_attempt_at = @now WHERE id = @id AND head = 1 AND state = 'pending'", cancellationToken, ("now", Ms(now)), ("id", id));
        await transaction.CommitAsync(cancellationToken);
        return count > 0;
    }

    public async Task<bool> SkipAsync(long id, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        await using var find = Command(connection, transaction, "SELECT conversation_id FROM ocp_deliveries WHERE id = @id AND head = 1", ("id", id));
        if (await find.ExecuteScalarAsync(cancellationToken) is not string conversation)
        {
            return false;
        }

        await LockConversationAsync(connection, transaction, conversation, cancellationToken);
        MayHoldEvents();
        // Not a leased head: it is being sent now, and its answer decides.
        var count = await ExecuteAsync(connection, transaction,
            "UPDATE ocp_deliveries SET state = 'stale', head = 0, finished_at = @now, last_error = @e WHERE id = @id AND head = 1 AND state IN ('pending', 'dead')",
            cancellationToken, ("now", Ms(now)), ("e", reason), ("id", id));
        if (count > 0)
        {
            // Events behind a dead head were dead too: the conversation goes on with them.
            await ExecuteAsync(connection, transaction,
                "UPDATE ocp_deliveries SET state = 'pending', next_attempt_at = @now, deadline_from = @now, finished_at = NULL WHERE conversation_id = @c AND state = 'dead' AND id > @id AND length(body) > 0",
                cancellationToken, ("now", Ms(now)), ("c", conversation), ("id", id));
            await ExecuteAsync(connection, transaction, Promote, cancellationToken, ("c", conversation));
        }

        await transaction.CommitAsync(cancellationToken);
        return count > 0;
    }

    public async Task<int> ReplayAsync(long? id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var sql = id is null
            ? "UPDATE ocp_deliveries SET state = 'pending', next_attempt_at = @now, deadline_from = @now, finished_at = NULL WHERE state IN ('dead', 'stale') AND length(body) > 0"
            : "UPDATE ocp_deliveries SET state = 'pending', next_attempt_at = @now, deadline_from = @now, finished_at = NULL WHERE state IN ('dead', 'stale') AND length(body) > 0 AND id >= @id " +
              "AND conversation_id = (SELECT conversation_id FROM ocp_deliveries WHERE id = @id AND state IN ('dead', 'stale'))";
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        // A replayed stale event was not held: the live step must ask the table again, not its memory of "nothing held".
        MayHoldEvents();
        var count = await ExecuteAsync(connection, transaction, sql, cancellationToken, ("now", Ms(now)), ("id", id ?? 0L));
        if (count > 0)
        {
            // A replayed stale event held no head: its conversation gets one again if it had none.
            await ExecuteAsync(connection, transaction, RepairHeads[1], cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    public async Task<bool> DiscardAsync(long id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        await using var find = Command(connection, transaction, "SELECT conversation_id FROM ocp_deliveries WHERE id = @id", ("id", id));
        if (await find.ExecuteScalarAsync(cancellationToken) is not string conversation)
        {
            return false;
        }

        await LockConversationAsync(connection, transaction, conversation, cancellationToken);
        var count = await ExecuteAsync(connection, transaction,
            $"UPDATE ocp_deliveries SET state = 'discarded', head = 0, lease_owner = NULL, finished_at = @now, body = @nb, body_key = NULL WHERE id = @id AND state IN {Blocking}",
            cancellationToken, ("now", Ms(now)), ("nb", NoBody), ("id", id));
        await ExecuteAsync(connection, transaction, Promote, cancellationToken, ("c", conversation));
        await transaction.CommitAsync(cancellationToken);
        return count > 0;
    }

    public async Task<(IReadOnlyDictionary<string, long> Counts, DateTimeOffset? OldestPending)> StatsAsync(CancellationToken cancellationToken) =>
        (await CountsAsync(cancellationToken), await OldestHeldAsync(cancellationToken));

    public async Task<IReadOnlyDictionary<string, long>> CountsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            [DeliveryStates.Pending] = 0,
            [DeliveryStates.Leased] = 0,
            [DeliveryStates.Dead] = 0,
            [DeliveryStates.Delivered] = 0,
            [DeliveryStates.Discarded] = 0,
            [DeliveryStates.Expired] = 0,
        };
        await using (var command = Command(connection, null, Reads.Counts))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                counts[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        return counts;
    }

    public async Task<DateTimeOffset?> OldestHeldAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var oldest = Command(connection, null, Reads.OldestHeld);
        var value = await oldest.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : FromMs(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
    }

    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        // An event's attempts go with it (not counted: the count is of events and keys).
        await ExecuteAsync(connection, transaction,
            "DELETE FROM ocp_delivery_attempts WHERE delivery_id IN (SELECT id FROM ocp_deliveries WHERE state IN ('delivered', 'discarded') AND finished_at < @b)",
            cancellationToken, ("b", Ms(before)));
        var count = await ExecuteAsync(connection, transaction,
            "DELETE FROM ocp_deliveries WHERE state IN ('delivered', 'discarded') AND finished_at < @b", cancellationToken, ("b", Ms(before)));
        count += await ExecuteAsync(connection, transaction,
            // By the table's own order (no second index to write per key): a key is older than its acceptance
            // only when the event came late or its clock was behind, and its event time is 0 when unknown.
            "DELETE FROM ocp_event_keys WHERE event_at < @b AND accepted_at < @b", cancellationToken, ("b", Ms(before)));
        await transaction.CommitAsync(cancellationToken);
        await AfterPruneAsync(cancellationToken);
        return count;
    }

    /// <summary>After rows or bodies were removed: what the engine needs so they do not linger on disk.</summary>
    protected virtual Task AfterPruneAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<int> SetAsideStaleAsync(string eventType, DateTimeOffset arrivedBefore, DateTimeOffset now, string reason, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        // Pending only (a leased one is being sent now); a row under a missing key is left as it is, like everywhere.
        var count = await ExecuteAsync(connection, transaction,
            $"UPDATE ocp_deliveries SET state = 'stale', head = 0, finished_at = @now, last_error = @e WHERE event_type = @t AND state = 'pending' AND deadline_from < @b AND {_readable}",
            cancellationToken, ("now", Ms(now)), ("e", reason), ("t", eventType), ("b", Ms(arrivedBefore)));
        if (count > 0)
        {
            // The conversations whose heads were set aside go on with their next held event.
            await ExecuteAsync(connection, transaction, RepairHeads[1], cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return count;
    }

    public async Task<int> ExpireDeadLettersAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        // The one place the gateway gives an event up: a dead letter nobody replayed within the retention. The row
        // stays (ids, type, times, last error) for the audit; a row under a missing key is kept whole.
        var count = await ExecuteAsync(connection, transaction,
            $"UPDATE ocp_deliveries SET state = 'expired', head = 0, body = @nb, body_key = NULL WHERE state IN ('dead', 'stale') AND finished_at < @b AND {_readable}",
            cancellationToken, ("nb", NoBody), ("b", Ms(before)));
        if (count > 0)
        {
            // The conversations those heads blocked go on with their next held event.
            await ExecuteAsync(connection, transaction, RepairHeads[1], cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        if (count > 0)
        {
            await AfterPruneAsync(cancellationToken);
        }

        return count;
    }

    public async Task<int> EraseConversationAsync(string conversationId, CancellationToken cancellationToken)
    {
        using var turn = await EnterWriteAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await BeginWriteAsync(connection, cancellationToken);
        await LockConversationAsync(connection, transaction, conversationId, cancellationToken);
        var keys = new List<string>();
        await using (var select = Command(connection, transaction, "SELECT idempotency_key FROM ocp_deliveries WHERE conversation_id = @c", ("c", conversationId)))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add(reader.GetString(0));
            }
        }

        // The events' keys go too (a resend of an erased event is new); the rows count as what was erased.
        await ExecuteAsync(connection, transaction,
            "DELETE FROM ocp_event_keys WHERE idempotency_key IN (SELECT idempotency_key FROM ocp_deliveries WHERE conversation_id = @c)",
            cancellationToken, ("c", conversationId));
        await ExecuteAsync(connection, transaction,
            "DELETE FROM ocp_delivery_attempts WHERE delivery_id IN (SELECT id FROM ocp_deliveries WHERE conversation_id = @c)", cancellationToken, ("c", conversationId));
        var count = await ExecuteAsync(connection, transaction, "DELETE FROM ocp_deliveries WHERE conversation_id = @c", cancellationToken, ("c", conversationId));
        await transaction.CommitAsync(cancellationToken);
        foreach (var key in keys)
        {
            recent?.Forget(key);
        }

        await AfterPruneAsync(cancellationToken);
        return count;
    }

    public async Task<long> ReencryptAsync(bool plaintextOnly, CancellationToken cancellationToken)
    {
        if (protector.ActiveKeyId is not { } active)
        {
            return 0;
        }

        // Resumable in batches of 256 rows: each batch is its own transaction, and what is done is not chosen again.
        var which = plaintextOnly ? "body_key IS NULL" : $"(body_key IS NULL OR body_key <> '{active}') AND {_readable}";
        long total = 0;
        while (true)
        {
            using var turn = await EnterWriteAsync(cancellationToken);
            await using var connection = await OpenAsync(cancellationToken);
            await using var transaction = await BeginWriteAsync(connection, cancellationToken);
            var rows = new List<StoredEvent>();
            await using (var select = Command(connection, transaction, $"SELECT {Columns} FROM ocp_deliveries WHERE length(body) > 0 AND {which} ORDER BY id LIMIT 256"))
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    rows.Add(Read(reader));
                }
            }

            var done = 0;
            await using var update = Command(connection, transaction, "UPDATE ocp_deliveries SET body = @b, body_key = @k WHERE id = @id",
                ("b", NoBody), ("k", active), ("id", 0L));
            foreach (var row in rows.Where(r => r.Unreadable is null))
            {
                update.Parameters[0].Value = protector.Protect(row.Body, row.IdempotencyKey, row.ConversationId).Stored;
                update.Parameters[2].Value = row.Id;
                done += await update.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            total += done;
            if (rows.Count < 256 || done == 0)
            {
                break;
            }
        }

        if (total > 0)
        {
            await AfterPruneAsync(cancellationToken);
            if (logger is not null)
            {
                DeliveryLog.Encrypted(logger, total, active, protector.Fingerprint(active));
            }
        }

        return total;
    }

    public async Task<IReadOnlyDictionary<string, long>> MissingKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var missing = new Dictionary<string, long>(StringComparer.Ordinal);
        List<string>? unheld = null;
        await using (var keyIds = Command(connection, null, Reads.KeyIds))
        await using (var reader = await keyIds.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var keyId = reader.GetString(0);
                if (!protector.Has(keyId))
                {
                    (unheld ??= []).Add(keyId);
                }
            }
        }

        foreach (var keyId in unheld ?? [])
        {
            await using var rows = Command(connection, null, Reads.RowsUnderKey, ("k", keyId));
            missing[keyId] = Convert.ToInt64(await rows.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        }

        return missing;
    }

    private static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private protected static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = Named(command, name);
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    // Microsoft.Data.Sqlite finds a parameter by the name as given, and failing that tries it after each of '@', '$' and
    // ':' (a string built per try, to rule out an ambiguous name), every time the statement runs: for a park's 16
    // parameters 64 look-ups and 48 strings per event. Named as the SQL writes them, each is found at the first look-up.
    // Npgsql takes the bare name (it would trim the '@' off, a string per parameter).
    private static string Named(DbCommand command, string name) =>
        command is Microsoft.Data.Sqlite.SqliteCommand && name[0] is not ('@' or '$' or ':') ? "@" + name : name;

    /// <summary>A row as the store's callers see it: the body decrypted, or empty with <see cref="StoredEvent.Unreadable"/> set.</summary>
    private StoredEvent Read(DbDataReader reader)
    {
        var key = reader.GetString(1);
        var conversation = reader.GetString(2);
        var stored = (byte[])reader.GetValue(6);
        var keyId = reader.IsDBNull(13) ? null : reader.GetString(13);
        var result = stored.Length == 0 ? UnprotectResult.Ok : protector.TryUnprotect(stored, keyId, key, conversation, out stored);
        return new StoredEvent(reader.GetInt64(0), key, conversation, reader.GetString(3), reader.GetString(4), reader.GetString(5),
            result == UnprotectResult.Ok ? stored : NoBody, FromMs(reader.GetInt64(7)), reader.GetString(8), reader.GetInt32(9), FromMs(reader.GetInt64(10)),
            reader.IsDBNull(11) ? null : reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12))
        {
            Unreadable = result == UnprotectResult.Ok ? null : result,
            KeyId = keyId,
        };
    }

    /// <summary>
    /// A claimed body that does not decrypt under its own row's identity (changed, or copied from another row) is
    /// never delivered: dead-lettered in the claim's transaction, logged and left out of the claim.
    /// </summary>
    private async Task RejectUnreadableAsync(DbConnection connection, DbTransaction transaction, List<StoredEvent> claimed, DateTimeOffset now, CancellationToken cancellationToken)
    {
        for (var i = claimed.Count - 1; i >= 0; i--)
        {
            if (claimed[i].Unreadable is not { } reason)
            {
                continue;
            }

            var row = claimed[i];
            claimed.RemoveAt(i);
            await ExecuteAsync(connection, transaction,
                "UPDATE ocp_deliveries SET state = 'dead', lease_owner = NULL, finished_at = @now, last_error = @e WHERE id = @id",
                cancellationToken, ("now", Ms(now)), ("e", $"stored body unreadable ({reason}): changed or moved; not delivered"), ("id", row.Id));
            if (logger is not null)
            {
                DeliveryLog.BodyRejected(logger, row.Id, row.KeyId ?? "none", reason.ToString());
            }

            Interlocked.Increment(ref _rejectedBodies);
        }
    }

    private long _rejectedBodies;

    /// <summary>How many claimed bodies were refused as unreadable since start (the worker exports it).</summary>
    public long RejectedBodies => Interlocked.Read(ref _rejectedBodies);

    protected static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
