using System.Data.Common;
using Npgsql;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The shared store for several replicas: claims use <c>FOR UPDATE SKIP LOCKED</c> with a lease column
/// (the way Convoy's PostgreSQL queue claims jobs), so each event is delivered by one replica at a time
/// and an expired lease is taken over. The tables are created or migrated at start under an advisory
/// lock, so replicas starting together do not race.
/// </summary>
internal sealed class PostgresDeliveryStore(NpgsqlDataSource dataSource, BodyProtector? protector = null, ILogger? logger = null, TimeSpan? lookupTimeout = null,
    TimeSpan? parkTimeout = null)
    : SqlDeliveryStore(recent: null, protector ?? BodyProtector.Plaintext, logger)
{
    protected override TimeSpan LookupTimeout => lookupTimeout ?? base.LookupTimeout;

    // Read once per park batch: the default made once, not an options object per batch.
    private static readonly TimeSpan DefaultParkTimeout = new DeliveryOptions().ParkTimeout;

    protected override TimeSpan? ParkTimeout => parkTimeout ?? DefaultParkTimeout;

    /// <summary>
    /// The data source for <c>ConnectionStrings:Delivery</c>, with two Npgsql settings on unless the operator set them:
    /// automatic preparation (<c>Max Auto Prepare</c>): the store's statements are few and fixed, and unprepared each is
    /// parsed and planned by the server again on every use (parking ran 1,200/s unprepared, 1,700/s prepared,
    /// bench/park.sh); and <c>No Reset On Close</c>: a connection going back to the pool is otherwise reset with five
    /// statements (<c>RESET ALL</c>, <c>CLOSE ALL</c>, …) before its next use, once per park batch, and the store leaves
    /// nothing to reset — it sets no session setting, takes only transaction-scoped advisory locks, opens no cursor
    /// outside a transaction and uses no temporary table or LISTEN (docs/decisions/0011).
    /// </summary>
    public static NpgsqlDataSource DataSourceFor(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Names(connectionString, "Auto Prepare", "AutoPrepare"))
        {
            builder.MaxAutoPrepare = 64;
        }

        if (!Names(connectionString, "Reset On Close", "ResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return NpgsqlDataSource.Create(builder);
    }

    private static bool Names(string connectionString, string spaced, string joined) =>
        connectionString.Contains(spaced, StringComparison.OrdinalIgnoreCase) || connectionString.Contains(joined, StringComparison.OrdinalIgnoreCase);

    private static readonly string[] Schema =
    [
        "SELECT pg_advisory_xact_lock(720611)",
        "CREATE TABLE IF NOT EXISTS ocp_deliveries (id BIGSERIAL PRIMARY KEY, idempotency_key TEXT NOT NULL, conversation_id TEXT NOT NULL, " +
        "event_type TEXT NOT NULL, route_id TEXT NOT NULL, request_path TEXT NOT NULL, body BYTEA NOT NULL, received_at BIGINT NOT NULL, " +
        "deadline_from BIGINT NOT NULL, state TEXT NOT NULL, attempts INT NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL, " +
        "lease_owner TEXT NULL, lease_until BIGINT NULL, last_error TEXT NULL, finished_at BIGINT NULL, head INT NOT NULL DEFAULT 0, trace_parent TEXT NULL, body_key TEXT NULL, " +
        "retry_first INT NOT NULL DEFAULT 0)",
        "ALTER TABLE ocp_deliveries ADD COLUMN IF NOT EXISTS head INT NOT NULL DEFAULT 0",
        "ALTER TABLE ocp_deliveries ADD COLUMN IF NOT EXISTS trace_parent TEXT NULL",
        "ALTER TABLE ocp_deliveries ADD COLUMN IF NOT EXISTS body_key TEXT NULL",
        "ALTER TABLE ocp_deliveries ADD COLUMN IF NOT EXISTS retry_first INT NOT NULL DEFAULT 0",
        // Held and set-aside events by conversation (a held-only predicate would leave the console's reads, which include
        // stale ones, to a table scan; the held-only reads are implied by this one).
        "DROP INDEX IF EXISTS ocp_deliveries_conversation",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_conversation_kept ON ocp_deliveries (conversation_id, id) WHERE state IN ('pending', 'leased', 'dead', 'stale')",
        // Whether a conversation has a dead letter (SqlDeliveryStore.Reads.DeadLetter), asked by every park while OCP® is
        // failing: one probe of an index that holds dead letters only (a parked event adds no entry to it), where the index
        // above has every held event of the conversation to read through.
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_dead ON ocp_deliveries (conversation_id) WHERE state = 'dead'",
        // An operator's search by idempotency key.
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_key ON ocp_deliveries (idempotency_key)",
        "DROP INDEX IF EXISTS ocp_deliveries_due",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_due_heads ON ocp_deliveries (next_attempt_at, id) WHERE head = 1 AND state = 'pending'",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_heads ON ocp_deliveries (conversation_id) WHERE head = 1",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_due_first ON ocp_deliveries (next_attempt_at, id) WHERE retry_first = 1 AND head = 1 AND state = 'pending'",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_state ON ocp_deliveries (state, id)",
        // The housekeeping's reads each second (SqlDeliveryStore.Reads): expired, oldest held, the key ids (a skip scan of the body_key index).
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_deadline ON ocp_deliveries (state, deadline_from)",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_received ON ocp_deliveries (state, received_at)",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_body_key ON ocp_deliveries (body_key) WHERE body_key IS NOT NULL",
        // Keys ordered by the event's own time (then key), so live keys append to the index's last pages.
        "CREATE TABLE IF NOT EXISTS ocp_event_keys (event_at BIGINT NOT NULL, idempotency_key TEXT NOT NULL, status INT NOT NULL, " +
        "delivery_id BIGINT NULL, accepted_at BIGINT NOT NULL, PRIMARY KEY (event_at, idempotency_key))",
        // Each counted attempt of a kept event (the console's history), removed with its event.
        "CREATE TABLE IF NOT EXISTS ocp_delivery_attempts (delivery_id BIGINT NOT NULL, attempted_at BIGINT NOT NULL, outcome TEXT NOT NULL, " +
        "status INT NULL, error TEXT NULL, duration_ms BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS ocp_delivery_attempts_delivery ON ocp_delivery_attempts (delivery_id, attempted_at)",
    ];

    protected override IReadOnlyList<string> SchemaStatements => Schema;

    protected override string ClaimLocking => " FOR UPDATE SKIP LOCKED";

    // The claimed ids as an array computed once, then looked up by primary key: as "id IN (subquery)" the planner may
    // hash the ids and read the whole table to find them (it did at 10,000 rows, ConsoleQueryPlanTests).
    protected override string IdIn(string subquery) => $"id = ANY(ARRAY({subquery}))";

    // A transaction-scoped advisory lock per conversation (the first key keeps it apart from the migration lock).
    protected override string ConversationLock => "SELECT pg_advisory_xact_lock(720612, hashtext(@c))";

    // The same locks for a park batch in one statement, taken in the order of the array (sorted by the caller).
    protected override string ConversationsLock => "SELECT pg_advisory_xact_lock(720612, hashtext(c)) FROM unnest(@cs) AS c";

    protected override string LastInsertedId => "lastval()";

    protected override bool WritesAsRows => true;

    // A key writer's batch as one statement over arrays: one round trip and one executor start, not one per key; in the
    // batch's order, so the first answer for a key stands as it does one by one.
    private const string InsertKeyRows =
        "INSERT INTO ocp_event_keys (event_at, idempotency_key, status, delivery_id, accepted_at) " +
        "SELECT e, k, s, NULL, a FROM unnest(@e::bigint[], @k::text[], @s::int[], @at::bigint[]) WITH ORDINALITY AS r(e, k, s, a, ord) ORDER BY ord " +
        "ON CONFLICT (event_at, idempotency_key) DO NOTHING";

    protected override async Task InsertKeysAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AcceptedKey> keys,
        CancellationToken cancellationToken)
    {
        await using var rows = Command(connection, transaction, InsertKeyRows,
            ("e", keys.Select(k => k.EventAt).ToArray()), ("k", keys.Select(k => k.Key).ToArray()), ("s", keys.Select(k => k.Status).ToArray()),
            ("at", keys.Select(k => Ms(k.At)).ToArray()));
        await rows.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await dataSource.OpenConnectionAsync(cancellationToken);

    protected override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        connection.BeginTransactionAsync(cancellationToken);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await dataSource.DisposeAsync();
    }
}
