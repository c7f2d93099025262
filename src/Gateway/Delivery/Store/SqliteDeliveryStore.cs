using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The embedded store: one SQLite file, WAL journal, full sync on every commit (a 202 is only sent
/// after the event is on disk), and <c>BEGIN IMMEDIATE</c> for every write so claims never race. One
/// replica owns the file, so recent keys and whether anything is held are answered from memory
/// (<see cref="RecentKeys"/>); <c>deliveries</c> commands on the same file only list, replay and discard,
/// which never add a held event.
/// </summary>
internal sealed class SqliteDeliveryStore(string connectionString, TimeProvider? time = null, BodyProtector? protector = null, ILogger? logger = null)
    : SqlDeliveryStore(new RecentKeys(time ?? TimeProvider.System), protector ?? BodyProtector.Plaintext, logger)
{
    private static readonly string[] Schema =
    [
        "CREATE TABLE IF NOT EXISTS ocp_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL, conversation_id TEXT NOT NULL, " +
        "event_type TEXT NOT NULL, route_id TEXT NOT NULL, request_path TEXT NOT NULL, body BLOB NOT NULL, received_at INTEGER NOT NULL, " +
        "deadline_from INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, " +
        "lease_owner TEXT NULL, lease_until INTEGER NULL, last_error TEXT NULL, finished_at INTEGER NULL, head INTEGER NOT NULL DEFAULT 0, trace_parent TEXT NULL, body_key TEXT NULL, " +
        "retry_first INTEGER NOT NULL DEFAULT 0)",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_conversation ON ocp_deliveries (conversation_id, state, id)",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_state ON ocp_deliveries (state, next_attempt_at, id)",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_due_heads ON ocp_deliveries (next_attempt_at, id) WHERE head = 1 AND state = 'pending'",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_heads ON ocp_deliveries (conversation_id) WHERE head = 1",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_due_first ON ocp_deliveries (next_attempt_at, id) WHERE retry_first = 1 AND head = 1 AND state = 'pending'",
        // The housekeeping's reads each second (SqlDeliveryStore.Reads): expired, oldest held, the key ids (a skip scan of the body_key index).
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_deadline ON ocp_deliveries (state, deadline_from)",
        // The oldest held event, and (the key last) an operator's search by idempotency key as a scan of this index alone
        // (SqlDeliveryStore.FindStatements). Not an index on the key itself: keys are random, so each park would write a page
        // of its own into that index, a whole page image in the WAL and again at the checkpoint — 9 of the 21 KB a parked
        // event wrote (bench/park.sh, KB written per event), where this index only ever appends.
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_received_key ON ocp_deliveries (state, received_at, idempotency_key)",
        "DROP INDEX IF EXISTS ocp_deliveries_received",
        "DROP INDEX IF EXISTS ocp_deliveries_key",
        "CREATE INDEX IF NOT EXISTS ocp_deliveries_body_key ON ocp_deliveries (body_key) WHERE body_key IS NOT NULL",
        // Keys ordered by the event's own time (then key), so a batch of live keys appends to the last pages.
        "CREATE TABLE IF NOT EXISTS ocp_event_keys (event_at INTEGER NOT NULL, idempotency_key TEXT NOT NULL, status INTEGER NOT NULL, " +
        "delivery_id INTEGER NULL, accepted_at INTEGER NOT NULL, PRIMARY KEY (event_at, idempotency_key)) WITHOUT ROWID",
        // Each counted attempt of a kept event (the console's history), removed with its event.
        "CREATE TABLE IF NOT EXISTS ocp_delivery_attempts (delivery_id INTEGER NOT NULL, attempted_at INTEGER NOT NULL, outcome TEXT NOT NULL, " +
        "status INTEGER NULL, error TEXT NULL, duration_ms INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS ocp_delivery_attempts_delivery ON ocp_delivery_attempts (delivery_id, attempted_at)",
    ];

    // Columns added after the first release, in order.
    private static readonly (string Column, string Definition)[] AddedColumns =
        [("head", "INTEGER NOT NULL DEFAULT 0"), ("trace_parent", "TEXT NULL"), ("body_key", "TEXT NULL"), ("retry_first", "INTEGER NOT NULL DEFAULT 0")];

    protected override IReadOnlyList<string> SchemaStatements => Schema;

    protected override string ClaimLocking => string.Empty;

    // Without statistics (SQLite gathers none by itself) the planner takes the state index for a claim, two constraints
    // against the partial index's one, and reads every pending row to find the few heads: 87 ms per claim at a backlog of
    // 100,000, which held a drain to ~900 events/s. The partial index holds only the due heads.
    protected override string IndexHint(string index) => $" INDEXED BY {index}";

    protected override string KeySearchHint => IndexHint("ocp_deliveries_received_key");

    protected override SemaphoreSlim WriteGate { get; } = new(1, 1);

    private readonly WriterThread _keyWriter = new("SQLite key writer");

    // The key writer's batches: transactions of up to a thousand statements, run synchronously by the driver; on a pool
    // thread, they held requests queued behind them (WriterThread).
    protected override Task<T> OnKeyWriterAsync<T>(Func<Task<T>> write) => _keyWriter.RunAsync(write);

    protected override string LastInsertedId => "last_insert_rowid()";

    // WAL with NORMAL: a commit survives a crash of the process, not of the machine (OpenAsync sets FULL again).
    protected override string KeysWithoutSync => "PRAGMA synchronous = NORMAL";

    /// <summary>The SQLite file the connection string names.</summary>
    public string DataSource { get; } = new SqliteConnectionStringBuilder(connectionString).DataSource;

    /// <summary>Creates the file's folder (the default is <c>data/</c> under the content root), then the tables.</summary>
    public override async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(DataSource)) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        // Persistent in the file, so set once here rather than on every connection, and outside a
        // transaction (SQLite refuses to change the journal mode inside one).
        await using (var connection = await OpenAsync(cancellationToken))
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL";
            await wal.ExecuteNonQueryAsync(cancellationToken);
            // A file written before a column existed (SQLite has no ADD COLUMN IF NOT EXISTS); the base
            // class then marks the heads.
            foreach (var (column, definition) in AddedColumns)
            {
                wal.CommandText = "SELECT (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'ocp_deliveries') " +
                    $"- (SELECT COUNT(*) FROM pragma_table_info('ocp_deliveries') WHERE name = '{column}')";
                if (Convert.ToInt64(await wal.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0)
                {
                    wal.CommandText = $"ALTER TABLE ocp_deliveries ADD COLUMN {column} {definition}";
                    await wal.ExecuteNonQueryAsync(cancellationToken);
                }
            }
        }

        await base.InitializeAsync(cancellationToken);
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        // secure_delete: a removed body is overwritten with zeros, not left readable in the file's free pages.
        // wal_autocheckpoint: the WAL is copied back into the file every 4,000 pages (~16 MB) rather than SQLite's 1,000;
        // a page written by many commits in between is copied once, so parking wrote ~14 rather than 18 KB per event and
        // ran at ~7,100 rather than 5,456 events/s (bench/park.sh). The commit that checkpoints holds its batch the
        // longer: a park's p99 33 ms at 4,000 pages, 46 ms at 10,000 (for 6 % more throughput, within noise), 20 at 1,000.
        pragma.CommandText = "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON; PRAGMA wal_autocheckpoint = 4000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    // A WAL reader neither waits for the writer nor syncs, so the live path's lookup skips the pragmas
    // (two statements per event otherwise).
    protected override async Task<DbConnection> OpenReadAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    // Pruning removed bodies: copy the WAL back into the file (overwritten pages included) and truncate it, so the
    // old page images do not stay readable in the WAL until the next automatic checkpoint.
    protected override async Task AfterPruneAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
        await checkpoint.ExecuteNonQueryAsync(cancellationToken);
    }

    // secure_delete zeroes what is removed from now on, but a file written before it was on keeps old bytes in the
    // unused space of pages that were never freed (a leaf page that became an interior page keeps its old cells).
    // VACUUM rebuilds every page from the live rows only; once, when a plaintext store has just been encrypted.
    protected override async Task AfterPlaintextEncryptedAsync(CancellationToken cancellationToken)
    {
        await using (var connection = await OpenAsync(cancellationToken))
        await using (var vacuum = connection.CreateCommand())
        {
            vacuum.CommandText = "VACUUM";
            await vacuum.ExecuteNonQueryAsync(cancellationToken);
        }

        await AfterPruneAsync(cancellationToken);
    }

    // The key writer's batch through SQLitePCLRaw, on the connection's own handle and inside its transaction: one statement
    // prepared once, its parameters bound by position. Microsoft.Data.Sqlite binds by name on every run (the name's index
    // looked up, a binder object and the name's UTF-8 bytes per parameter): DeliveryStoreBenchmarks 2.0–2.1 against
    // 3.4–4.9 µs and 291 against 901 bytes allocated per key; healthy store-and-forward 0.986x CPU per event (bench/load.sh
    // AB_MODE=StoreAndForward, rounds 0.92–1.02x).
    protected override Task InsertKeysAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<AcceptedKey> keys,
        CancellationToken cancellationToken)
    {
        var db = ((SqliteConnection)connection).Handle!;
        Check(db, SQLitePCL.raw.sqlite3_prepare_v2(db, InsertAcceptedKey, out var statement));
        using (statement)
        {
            foreach (var accepted in keys)
            {
                SQLitePCL.raw.sqlite3_bind_int64(statement, 1, accepted.EventAt);
                SQLitePCL.raw.sqlite3_bind_text(statement, 2, accepted.Key);
                SQLitePCL.raw.sqlite3_bind_int(statement, 3, accepted.Status);
                SQLitePCL.raw.sqlite3_bind_int64(statement, 4, Ms(accepted.At));
                var done = SQLitePCL.raw.sqlite3_step(statement);
                SQLitePCL.raw.sqlite3_reset(statement);
                if (done != SQLitePCL.raw.SQLITE_DONE)
                {
                    Check(db, done);
                }
            }
        }

        return Task.CompletedTask;
    }

    private const string InsertAcceptedKey =
        "INSERT INTO ocp_event_keys (event_at, idempotency_key, status, delivery_id, accepted_at) VALUES (?1, ?2, ?3, NULL, ?4) ON CONFLICT (event_at, idempotency_key) DO NOTHING";

    private static void Check(SQLitePCL.sqlite3 db, int result)
    {
        if (result != SQLitePCL.raw.SQLITE_OK && result != SQLitePCL.raw.SQLITE_DONE)
        {
            throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(db).utf8_to_string(), result);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        _keyWriter.Dispose();
    }

    protected override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
}
