using System.Security.Cryptography;
using System.Text;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// What the store keeps of customers' chats, on SQLite and PostgreSQL for real: bodies encrypted (AES-256-GCM,
/// the row's identity as associated data), no plaintext in the store's files, bodies dropped once not needed,
/// keys rotated and re-encrypted, rows under a missing key kept, plaintext stores migrated, conversations erased.
/// </summary>
public abstract class DataAtRestContract
{
    private protected static readonly DateTimeOffset T0 = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Key1 = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] Key2 = RandomNumberGenerator.GetBytes(32);

    private protected Microsoft.Extensions.Time.Testing.FakeTimeProvider Clock { get; } = new(T0);

    /// <summary>A store on this test's database (the same one on every call), after running <paramref name="setupSql"/> on it.</summary>
    private protected abstract Task<SqlDeliveryStore> CreateStoreAsync(BodyProtector protector, string? setupSql = null);

    /// <summary>Runs SQL on this test's database; the first column of the first row, if any.</summary>
    private protected abstract Task<object?> SqlAsync(string sql);

    /// <summary>The first of the store's files (after the engine has written its buffers out) that holds <paramref name="marker"/>, or null.</summary>
    private protected abstract Task<string?> FileContainingAsync(string marker);

    /// <summary>The tables as the release before encryption created them (no <c>body_key</c> column).</summary>
    private protected abstract string PreviousReleaseSchema { get; }

    /// <summary>A blob literal in the engine's SQL.</summary>
    private protected abstract string Blob(byte[] bytes);

    /// <summary>Whether the engine overwrites replaced bytes at once (SQLite's secure_delete); PostgreSQL leaves dead tuples for VACUUM.</summary>
    private protected virtual bool ScrubsReplacedBytes => false;

    private static BodyProtector Keys(string? active, params string[] held)
    {
        var keys = new Dictionary<string, byte[]>();
        foreach (var id in held)
        {
            keys[id] = id == "k1" ? Key1 : Key2;
        }

        return new BodyProtector(keys, active);
    }

    /// <summary>A chat message as Talkdesk sends it, stamped at the store's now, its text carrying <paramref name="text"/>.</summary>
    private protected StoredEvent Chat(string conversation, string id, string text)
    {
        var at = Clock.GetUtcNow();
        var body = Encoding.UTF8.GetBytes($"{{\"event_type\":\"message_created\",\"conversation_id\":\"{conversation}\",\"timestamp\":\"{at:yyyy-MM-ddTHH:mm:ss.fffZ}\"," +
            $"\"payload\":{{\"id\":\"{id}\",\"content\":\"my card is {text}\"}}}}");
        return new StoredEvent(0, "key-" + id, conversation, "message_created", "talkdesk-events", "/talkdesk/events", body, at, DeliveryStates.Pending, 0, at, null);
    }

    private static string Marker() => "MARKER-" + Guid.NewGuid().ToString("N");

    private static Task<int> DeliveredAsync(SqlDeliveryStore store, StoredEvent claimed, DateTimeOffset now) =>
        store.FinishAsync("r", [new AttemptResult(claimed.Id, claimed.ConversationId, "200", default, null)], now, default);

    private async Task<long> LongAsync(string sql) => Convert.ToInt64(await SqlAsync(sql), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_file_scan_finds_a_marker_a_store_without_a_key_keeps_as_plaintext()
    {
        // The control for the scans below: without a key the marker is on disk as typed.
        var marker = Marker();
        await using var store = await CreateStoreAsync(BodyProtector.Plaintext);

        await store.ParkAsync(Chat("A", "a1", marker), DeliveryStates.Pending, T0, default);

        Assert.NotNull(await FileContainingAsync(marker));
    }

    [Fact]
    public async Task No_plaintext_of_a_chat_is_in_the_store_s_files_after_parking_delivery_and_pruning()
    {
        var marker = Marker();
        await using var store = await CreateStoreAsync(Keys("k1", "k1"));
        var first = Chat("A", "a1", marker);

        await store.ParkAsync(first, DeliveryStates.Pending, T0, default);
        var dead = await store.ParkAsync(Chat("B", "b1", marker), DeliveryStates.Pending, T0, default);
        Assert.Null(await FileContainingAsync(marker));
        Assert.Equal("k1", await SqlAsync($"SELECT body_key FROM ocp_deliveries WHERE id = {dead}"));

        var claimed = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);
        Assert.Equal(first.Body, claimed.Single(e => e.ConversationId == "A").Body);
        Assert.Equal(1, await DeliveredAsync(store, claimed.Single(e => e.ConversationId == "A"), T0));
        await store.DeadLetterAsync(dead, "test", T0, default);

        // A delivered body goes in the transaction that records the delivery; its key stays for the dedup window.
        Assert.Equal(0L, await LongAsync($"SELECT length(body) FROM ocp_deliveries WHERE state = 'delivered'"));
        Assert.Equal(1L, await LongAsync("SELECT COUNT(*) FROM ocp_event_keys WHERE idempotency_key = 'key-a1'"));
        Assert.Null(await FileContainingAsync(marker));

        await store.PruneAsync(T0.AddDays(2), default);
        Assert.Null(await FileContainingAsync(marker));
        Assert.Equal(0L, await LongAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE state = 'delivered'"));
    }

    [Fact]
    public async Task A_body_copied_to_another_row_does_not_decrypt_and_is_dead_lettered_not_delivered()
    {
        await using var store = await CreateStoreAsync(Keys("k1", "k1"));
        var a = await store.ParkAsync(Chat("A", "a1", "one"), DeliveryStates.Pending, T0, default);
        var b = await store.ParkAsync(Chat("B", "b1", "two"), DeliveryStates.Pending, T0, default);
        await SqlAsync($"UPDATE ocp_deliveries SET body = (SELECT body FROM ocp_deliveries WHERE id = {a}) WHERE id = {b}");

        var claimed = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);

        Assert.Equal([a], claimed.Select(e => e.Id));
        Assert.Equal("dead", await SqlAsync($"SELECT state FROM ocp_deliveries WHERE id = {b}"));
        Assert.Contains("unreadable", (string)(await SqlAsync($"SELECT last_error FROM ocp_deliveries WHERE id = {b}"))!, StringComparison.Ordinal);
        Assert.Equal(1, store.RejectedBodies);
    }

    [Fact]
    public async Task A_changed_byte_is_refused_too()
    {
        await using var store = await CreateStoreAsync(Keys("k1", "k1"));
        var a = await store.ParkAsync(Chat("A", "a1", "one"), DeliveryStates.Pending, T0, default);
        var stored = (byte[])(await SqlAsync($"SELECT body FROM ocp_deliveries WHERE id = {a}"))!;
        stored[^1] ^= 1;
        await SqlAsync($"UPDATE ocp_deliveries SET body = {Blob(stored)} WHERE id = {a}");

        Assert.Empty(await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default));
        Assert.Equal("dead", await SqlAsync($"SELECT state FROM ocp_deliveries WHERE id = {a}"));
    }

    [Fact]
    public async Task After_rotation_old_rows_still_deliver_and_rekey_moves_them_to_the_active_key_so_the_old_one_can_go()
    {
        var before = Chat("A", "a1", "under the first key");
        var after = Chat("B", "b1", "under the second key");
        await using (var first = await CreateStoreAsync(Keys("k1", "k1")))
        {
            await first.ParkAsync(before, DeliveryStates.Pending, T0, default);
        }

        await using (var rotated = await CreateStoreAsync(Keys("k2", "k1", "k2")))
        {
            await rotated.ParkAsync(after, DeliveryStates.Pending, T0, default);
            Assert.Equal(1L, await LongAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE body_key = 'k1'"));

            Assert.Equal(1, await rotated.ReencryptAsync(plaintextOnly: false, default));
            Assert.Equal(0, await rotated.ReencryptAsync(plaintextOnly: false, default));
        }

        Assert.Equal(2L, await LongAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE body_key = 'k2'"));
        await using var retired = await CreateStoreAsync(Keys("k2", "k2"));
        Assert.Empty(await retired.MissingKeysAsync(default));
        var claimed = await retired.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);
        Assert.Equal([before.Body, after.Body], claimed.OrderBy(e => e.Id).Select(e => e.Body));
    }

    [Fact]
    public async Task A_row_under_a_missing_key_is_kept_and_not_delivered_until_the_key_is_back()
    {
        var held = Chat("A", "a1", "needs k1");
        await using (var first = await CreateStoreAsync(Keys("k1", "k1")))
        {
            await first.ParkAsync(held, DeliveryStates.Pending, T0, default);
        }

        await using (var withoutKey = await CreateStoreAsync(Keys("k2", "k2")))
        {
            Assert.Equal(new Dictionary<string, long> { ["k1"] = 1 }, await withoutKey.MissingKeysAsync(default));
            Assert.Empty(await withoutKey.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default));
            // Neither dead-lettered for its age, nor re-encrypted, nor expired: kept as it is.
            Assert.Empty(await withoutKey.ExpiredAsync(T0.AddDays(30), default));
            Assert.Equal(0, await withoutKey.ReencryptAsync(plaintextOnly: false, default));
            Assert.Equal(1L, (await withoutKey.StatsAsync(default)).Counts[DeliveryStates.Pending]);
        }

        await using var keyBack = await CreateStoreAsync(Keys("k2", "k1", "k2"));
        Assert.Empty(await keyBack.MissingKeysAsync(default));
        Assert.Equal(held.Body, (await keyBack.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default)).Single().Body);
    }

    [Fact]
    public async Task A_plaintext_store_of_the_previous_release_is_encrypted_in_place_at_start()
    {
        var marker = Marker();
        var setup = new StringBuilder(PreviousReleaseSchema);
        var bodies = new Dictionary<string, byte[]>();
        // More rows than one batch (256), so the migration runs in several transactions.
        for (var i = 0; i < 300; i++)
        {
            var chat = Chat("c" + (i % 7), "m" + i, marker + "-" + i);
            bodies["key-m" + i] = chat.Body;
            setup.Append(
                "INSERT INTO ocp_deliveries (idempotency_key, conversation_id, event_type, route_id, request_path, body, received_at, deadline_from, state, next_attempt_at, head) " +
                $"VALUES ('{chat.IdempotencyKey}', '{chat.ConversationId}', 'message_created', 'talkdesk-events', '/talkdesk/events', {Blob(chat.Body)}, {T0.ToUnixTimeMilliseconds()}, " +
                $"{T0.ToUnixTimeMilliseconds()}, '{(i < 10 ? "delivered" : "pending")}', {T0.ToUnixTimeMilliseconds()}, 0);");
        }

        await using var store = await CreateStoreAsync(Keys("k1", "k1"), setup.ToString());

        Assert.Equal(0L, await LongAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE body_key IS NULL AND length(body) > 0"));
        Assert.Equal(290L, await LongAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE body_key = 'k1'"));
        Assert.Equal(0L, await LongAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE state = 'delivered' AND length(body) > 0"));
        var claimed = await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default);
        Assert.Equal(7, claimed.Count);
        Assert.All(claimed, e => Assert.Equal(bodies[e.IdempotencyKey], e.Body));
        if (ScrubsReplacedBytes)
        {
            Assert.Null(await FileContainingAsync(marker));
        }
    }

    [Fact]
    public async Task Erasing_a_conversation_removes_its_held_dead_and_delivered_events_and_keys_and_releases_it()
    {
        await using var store = await CreateStoreAsync(Keys("k1", "k1"));
        var now = Clock.GetUtcNow();
        var deliveredChat = Chat("A", "a0", "delivered");
        await store.ParkAsync(deliveredChat, DeliveryStates.Pending, now, default);
        await DeliveredAsync(store, (await store.ClaimAsync("r", now, TimeSpan.FromSeconds(30), 10, default)).Single(), now);
        var dead = await store.ParkAsync(Chat("A", "a1", "dead"), DeliveryStates.Pending, now, default);
        await store.DeadLetterAsync(dead, "test", now, default);
        await store.ParkAsync(Chat("A", "a2", "held behind the dead one"), DeliveryStates.Pending, now, default);
        var other = await store.ParkAsync(Chat("B", "b1", "another customer"), DeliveryStates.Pending, now, default);
        var eventAt = ConversationKey.TimeOf(deliveredChat.Body);
        Assert.Equal(DeliveryStates.Dead, (await store.LookupAsync("key-new", eventAt, now.AddHours(-24), "A", default)).Blocking);

        Assert.Equal(3, await store.EraseConversationAsync("A", default));

        Assert.Equal(0L, await LongAsync("SELECT COUNT(*) FROM ocp_deliveries WHERE conversation_id = 'A'"));
        Assert.Equal(0L, await LongAsync("SELECT COUNT(*) FROM ocp_event_keys WHERE idempotency_key IN ('key-a0', 'key-a1', 'key-a2')"));
        // Its keys are gone from memory too: a resend of an erased event is new.
        Assert.Null((await store.LookupAsync("key-a0", eventAt, now.AddHours(-24), "A", default)).Earlier);
        Assert.Null((await store.LookupAsync("key-new", eventAt, now.AddHours(-24), "A", default)).Blocking);
        Assert.Equal([other], (await store.ClaimAsync("r", now, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
        var next = await store.ParkAsync(Chat("A", "a3", "after the erasure"), DeliveryStates.Pending, now, default);
        Assert.Equal([next], (await store.ClaimAsync("r", now, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
        Assert.Equal(0, await store.EraseConversationAsync("no-such-conversation", default));
    }

    [Fact]
    public async Task A_dead_letter_past_its_retention_loses_its_body_but_stays_as_a_tombstone_and_its_conversation_goes_on()
    {
        await using var store = await CreateStoreAsync(Keys("k1", "k1"));
        var dead = await store.ParkAsync(Chat("A", "a1", "given up"), DeliveryStates.Pending, T0, default);
        await store.DeadLetterAsync(dead, "not delivered within MaxAge", T0, default);

        Assert.Equal(0, await store.ExpireDeadLettersAsync(T0, default));
        Assert.Equal(1, await store.ExpireDeadLettersAsync(T0.AddMilliseconds(1), default));
        // A tombstone holds nothing back: the conversation's next event is not kept behind it.
        var later = await store.ParkAsync(Chat("A", "a2", "after it"), DeliveryStates.Pending, T0, default);

        Assert.Equal(DeliveryStates.Expired, await SqlAsync($"SELECT state FROM ocp_deliveries WHERE id = {dead}"));
        Assert.Equal(0L, await LongAsync($"SELECT length(body) FROM ocp_deliveries WHERE id = {dead}"));
        Assert.Equal("not delivered within MaxAge", await SqlAsync($"SELECT last_error FROM ocp_deliveries WHERE id = {dead}"));
        Assert.Equal(0, await store.ReplayAsync(null, T0, default));
        Assert.Equal([later], (await store.ClaimAsync("r", T0, TimeSpan.FromSeconds(30), 10, default)).Select(e => e.Id));
    }
}

public sealed class SqliteDataAtRestTests : DataAtRestContract, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-rest-").FullName;

    private string File => Path.Combine(_folder, "deliveries.db");

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private protected override bool ScrubsReplacedBytes => true;

    private protected override async Task<SqlDeliveryStore> CreateStoreAsync(BodyProtector protector, string? setupSql = null)
    {
        if (setupSql is not null)
        {
            await SqlAsync(setupSql);
        }

        var store = new SqliteDeliveryStore($"Data Source={File}", Clock, protector);
        await store.InitializeAsync(default);
        return store;
    }

    private protected override async Task<object?> SqlAsync(string sql)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={File};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    // The database file and its WAL (and the WAL index), as they are on disk now.
    private protected override Task<string?> FileContainingAsync(string marker) =>
        Task.FromResult(StoreFiles.Containing(Directory.EnumerateFiles(_folder), marker));

    private protected override string PreviousReleaseSchema =>
        "CREATE TABLE ocp_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL, conversation_id TEXT NOT NULL, " +
        "event_type TEXT NOT NULL, route_id TEXT NOT NULL, request_path TEXT NOT NULL, body BLOB NOT NULL, received_at INTEGER NOT NULL, " +
        "deadline_from INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, " +
        "lease_owner TEXT NULL, lease_until INTEGER NULL, last_error TEXT NULL, finished_at INTEGER NULL, head INTEGER NOT NULL DEFAULT 0, trace_parent TEXT NULL);" +
        "CREATE TABLE ocp_event_keys (event_at INTEGER NOT NULL, idempotency_key TEXT NOT NULL, status INTEGER NOT NULL, " +
        "delivery_id INTEGER NULL, accepted_at INTEGER NOT NULL, PRIMARY KEY (event_at, idempotency_key)) WITHOUT ROWID;";

    private protected override string Blob(byte[] bytes) => "x'" + Convert.ToHexString(bytes) + "'";
}

[Collection(PostgresFixtureGroup.Name)]
public sealed class PostgresDataAtRestTests(PostgresServer server) : DataAtRestContract
{
    private string? _connectionString;

    private async Task<string> DatabaseAsync() => _connectionString ??= await server.CreateDatabaseAsync();

    private protected override async Task<SqlDeliveryStore> CreateStoreAsync(BodyProtector protector, string? setupSql = null)
    {
        if (setupSql is not null)
        {
            await SqlAsync(setupSql);
        }

        var store = new PostgresDeliveryStore(Npgsql.NpgsqlDataSource.Create(await DatabaseAsync()), protector);
        await store.InitializeAsync(default);
        return store;
    }

    private protected override Task<object?> SqlAsync(string sql) => SqlAsync(sql, timeoutSeconds: 30);

    private async Task<object?> SqlAsync(string sql, int timeoutSeconds)
    {
        await using var connection = new Npgsql.NpgsqlConnection(await DatabaseAsync());
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, connection) { CommandTimeout = timeoutSeconds };
        return await command.ExecuteScalarAsync();
    }

    // After CHECKPOINT (every dirty buffer written to the data files): this database's data files and the cluster's WAL.
    // The checkpoint writes and syncs the whole cluster's dirty buffers, every test database's: on a loaded machine that
    // took 20-29 s of sync here, past Npgsql's default 30 s command timeout, so it is given ten minutes.
    private protected override async Task<string?> FileContainingAsync(string marker)
    {
        await SqlAsync("CHECKPOINT", timeoutSeconds: 600);
        var dataDirectory = (string)(await SqlAsync("SELECT current_setting('data_directory')"))!;
        var oid = Convert.ToString(await SqlAsync("SELECT oid FROM pg_database WHERE datname = current_database()"), System.Globalization.CultureInfo.InvariantCulture)!;
        var files = Directory.EnumerateFiles(Path.Combine(dataDirectory, "base", oid))
            .Concat(Directory.EnumerateFiles(Path.Combine(dataDirectory, "pg_wal")));
        return StoreFiles.Containing(files, marker);
    }

    private protected override string PreviousReleaseSchema =>
        "CREATE TABLE ocp_deliveries (id BIGSERIAL PRIMARY KEY, idempotency_key TEXT NOT NULL, conversation_id TEXT NOT NULL, " +
        "event_type TEXT NOT NULL, route_id TEXT NOT NULL, request_path TEXT NOT NULL, body BYTEA NOT NULL, received_at BIGINT NOT NULL, " +
        "deadline_from BIGINT NOT NULL, state TEXT NOT NULL, attempts INT NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL, " +
        "lease_owner TEXT NULL, lease_until BIGINT NULL, last_error TEXT NULL, finished_at BIGINT NULL, head INT NOT NULL DEFAULT 0, trace_parent TEXT NULL);" +
        "CREATE TABLE ocp_event_keys (event_at BIGINT NOT NULL, idempotency_key TEXT NOT NULL, status INT NOT NULL, " +
        "delivery_id BIGINT NULL, accepted_at BIGINT NOT NULL, PRIMARY KEY (event_at, idempotency_key));";

    private protected override string Blob(byte[] bytes) => "'\\x" + Convert.ToHexString(bytes) + "'::bytea";
}

/// <summary>Searches a store's files for a marker, reading them while the engine has them open.</summary>
internal static class StoreFiles
{
    /// <summary>The first file (its name) that holds the marker's bytes, or null.</summary>
    public static string? Containing(IEnumerable<string> files, string marker)
    {
        var needle = Encoding.UTF8.GetBytes(marker);
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            if (memory.GetBuffer().AsSpan(0, (int)memory.Length).IndexOf(needle) >= 0)
            {
                return Path.GetFileName(file);
            }
        }

        return null;
    }
}
