using System.Data.Common;
using OcpTalkdesk.Gateway.Delivery;
using Xunit.Abstractions;

namespace OcpTalkdesk.Gateway.Tests.Delivery;

/// <summary>
/// The plans of what the console and the admin API read, on a store holding 10,000 events over 2,000 conversations
/// (400 of them set aside), after ANALYZE: each goes through an index, never a scan of the events table; so do the
/// redelivery worker's reads every second (oldest held, expired, the key ids and the rows under a missing one), the dead-letter
/// probe of every park while OCP® is failing and what holds a conversation (every live event's lookup). Not here: the
/// overview's counts by state, which aggregate every row by design (through the state index);
/// PostgreSQL rightly scans the table for them when nearly every row is held (bench/console.sh: overview p95 36 ms at
/// 10,000 held). The plans are written to the test output (<c>dotnet test --logger "console;verbosity=detailed"</c>).
/// </summary>
public abstract class ConsoleQueryPlanContract(ITestOutputHelper output)
{
    /// <summary>Where the plans are written.</summary>
    private protected ITestOutputHelper Output => output;

    /// <summary>A fresh store's connection, after the store created its tables.</summary>
    private protected abstract Task<DbConnection> OpenStoreAsync();

    /// <summary>Fills the store: 5 events per conversation, the first its head, every fifth conversation's last set aside.</summary>
    private protected abstract string Seed { get; }

    private protected abstract string Explain(string sql);

    /// <summary>True when a plan line reads the events table without an index.</summary>
    private protected abstract bool ScansTable(string line);

    private protected abstract string Analyze { get; }

    /// <summary>A store on the database <see cref="OpenStoreAsync"/> opened last.</summary>
    private protected abstract SqlDeliveryStore Store();

    /// <summary>
    /// The redelivery worker's claim, each round: through the partial index of due heads (a few hundred rows), never the
    /// state index, which holds every pending event of a backlog — with statistics and (SQLite gathers none by itself)
    /// without them.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_claim_reads_only_the_due_heads_under_a_backlog(bool analyzed)
    {
        await using var connection = await SeededStoreAsync(analyzed);
        await using var store = Store();
        foreach (var claim in store.ClaimStatements)
        {
            var plan = await PlanAsync(connection, claim, ("o", "owner"), ("u", 20_000L), ("now", 10_000L), ("max", 128));
            output.WriteLine($"claim (analyzed: {analyzed}):\n  " + string.Join("\n  ", plan));
            Assert.Contains(plan, line => line.Contains("ocp_deliveries_due_", StringComparison.Ordinal));
            Assert.DoesNotContain(plan, line => line.Contains("ocp_deliveries_state", StringComparison.Ordinal));
            Assert.DoesNotContain(plan, ScansTable);
        }
    }

    public static TheoryData<string> Reads() =>
        ["held", "list", "conversation", "attempts", "find-id", "find-key", "find-conversation", "oldest-held", "expired", "key-ids", "rows-under-key", "dead-letter", "blocked"];

    private static string Sql(string name, SqlDeliveryStore store) => name switch
    {
        "held" => SqlDeliveryStore.Reads.Held,
        "list" => SqlDeliveryStore.Reads.List,
        "conversation" => SqlDeliveryStore.Reads.Conversation,
        "attempts" => SqlDeliveryStore.Reads.Attempts,
        "find-id" => store.FindStatements[0],
        "find-conversation" => store.FindStatements[1],
        "find-key" => store.FindStatements[2],
        // The redelivery worker's housekeeping, every second.
        "oldest-held" => SqlDeliveryStore.Reads.OldestHeld,
        "expired" => SqlDeliveryStore.Reads.Expired("(body_key IS NULL OR body_key IN ('k1'))"),
        "key-ids" => SqlDeliveryStore.Reads.KeyIds,
        "rows-under-key" => SqlDeliveryStore.Reads.RowsUnderKey,
        // Asked by every park while OCP® is failing, and by the live lookup while anything is held.
        "dead-letter" => SqlDeliveryStore.Reads.DeadLetter,
        "blocked" => "SELECT " + SqlDeliveryStore.Reads.Blocked,
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Reads))]
    public async Task A_console_read_goes_through_an_index_under_a_backlog(string read)
    {
        await using var connection = await SeededStoreAsync(analyzed: true);
        await using var store = Store();
        var plan = await PlanAsync(connection, Sql(read, store),
            ("l", 50), ("o", 1950), ("s", "stale"), ("c", "c-00001"), ("t", "key-00001-3"), ("n", 42L), ("d", 0L), ("k", "k2"));
        output.WriteLine($"{read}:\n  " + string.Join("\n  ", plan));
        Assert.NotEmpty(plan);
        Assert.DoesNotContain(plan, ScansTable);
        if (read is "key-ids" or "rows-under-key")
        {
            // Probes of the key index: not a walk of another index that visits every row.
            Assert.Contains(plan, line => line.Contains("ocp_deliveries_body_key", StringComparison.Ordinal));
        }

        if (read is "dead-letter" or "blocked")
        {
            // One probe for a dead letter, not a walk through every held event of the conversation (5 here, thousands in a
            // long outage), and nothing sorted.
            Assert.Contains(plan, line => line.Contains(DeadLetterIndex, StringComparison.Ordinal));
            Assert.DoesNotContain(plan, Sorts);
        }
    }

    /// <summary>The index that answers whether a conversation has a dead letter in one probe.</summary>
    private protected abstract string DeadLetterIndex { get; }

    /// <summary>True when a plan line sorts rows.</summary>
    private protected abstract bool Sorts(string line);

    /// <summary>A store filled with <see cref="Seed"/>, with statistics gathered or not.</summary>
    private protected async Task<DbConnection> SeededStoreAsync(bool analyzed)
    {
        var connection = await OpenStoreAsync();
        foreach (var statement in analyzed ? new[] { Seed, Analyze } : [Seed])
        {
            await using var seed = connection.CreateCommand();
            seed.CommandText = statement;
            await seed.ExecuteNonQueryAsync();
        }

        return connection;
    }

    /// <summary>The engine's plan for <paramref name="sql"/> with the given parameters, one line per row.</summary>
    private protected async Task<List<string>> PlanAsync(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        await using var explain = connection.CreateCommand();
        explain.CommandText = Explain(sql);
        foreach (var (name, value) in parameters)
        {
            var parameter = explain.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            explain.Parameters.Add(parameter);
        }

        var plan = new List<string>();
        await using var reader = await explain.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            plan.Add(reader.GetValue(reader.FieldCount - 1).ToString()!);
        }

        return plan;
    }
}

public sealed class SqliteConsoleQueryPlanTests(ITestOutputHelper output) : ConsoleQueryPlanContract(output), IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-plans-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private string ConnectionString => $"Data Source={Path.Combine(_folder, "plans.db")}";

    private protected override SqlDeliveryStore Store() => new SqliteDeliveryStore(ConnectionString);

    private protected override async Task<DbConnection> OpenStoreAsync()
    {
        var file = ConnectionString;
        await using (var store = new SqliteDeliveryStore(file))
        {
            await store.InitializeAsync(default);
        }

        var connection = new Microsoft.Data.Sqlite.SqliteConnection(file);
        await connection.OpenAsync();
        return connection;
    }

    private protected override string Seed =>
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999) " +
        "INSERT INTO ocp_deliveries (idempotency_key, conversation_id, event_type, route_id, request_path, body, received_at, deadline_from, state, attempts, next_attempt_at, head) " +
        "SELECT printf('key-%05d-%d', i % 2000, i / 2000), printf('c-%05d', i % 2000), 'message_created', 'talkdesk-events', '/talkdesk/events', x'00', i, i, " +
        "CASE WHEN i / 2000 = 4 AND i % 5 = 0 THEN 'stale' ELSE 'pending' END, 0, i, CASE WHEN i < 2000 THEN 1 ELSE 0 END FROM n; " +
        "INSERT INTO ocp_delivery_attempts (delivery_id, attempted_at, outcome, status, error, duration_ms) SELECT id, id, 'retry', 503, 'OCP® answered 503', 10 FROM ocp_deliveries WHERE head = 1";

    private protected override string Analyze => "ANALYZE";

    private protected override string Explain(string sql) => "EXPLAIN QUERY PLAN " + sql;

    // Its conversation index leads with the state.
    private protected override string DeadLetterIndex => "ocp_deliveries_conversation ";

    private protected override bool Sorts(string line) => line.Contains("TEMP B-TREE", StringComparison.Ordinal);

    // SQLite says "SCAN t" for a full table scan ("SEARCH t" alone: a walk of the table by id, for a MIN or MAX), and
    // "SCAN t USING [COVERING] INDEX i" or "SEARCH t USING ..." otherwise.
    private protected override bool ScansTable(string line) =>
        System.Text.RegularExpressions.Regex.IsMatch(line, @"^(SCAN|SEARCH) (ocp_deliveries|h|c|ocp_delivery_attempts)$");
}

[Collection(PostgresFixtureGroup.Name)]
public sealed class PostgresConsoleQueryPlanTests(PostgresServer server, ITestOutputHelper output) : ConsoleQueryPlanContract(output)
{
    private string _database = string.Empty;

    private protected override SqlDeliveryStore Store() => new PostgresDeliveryStore(Npgsql.NpgsqlDataSource.Create(_database));

    private protected override async Task<DbConnection> OpenStoreAsync()
    {
        var database = _database = await server.CreateDatabaseAsync();
        await using (var store = new PostgresDeliveryStore(Npgsql.NpgsqlDataSource.Create(database)))
        {
            await store.InitializeAsync(default);
        }

        var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        return connection;
    }

    private protected override string Seed =>
        "INSERT INTO ocp_deliveries (idempotency_key, conversation_id, event_type, route_id, request_path, body, received_at, deadline_from, state, attempts, next_attempt_at, head) " +
        "SELECT format('key-%s-%s', lpad((i % 2000)::text, 5, '0'), i / 2000), format('c-%s', lpad((i % 2000)::text, 5, '0')), 'message_created', 'talkdesk-events', '/talkdesk/events', '\\x00', i, i, " +
        "CASE WHEN i / 2000 = 4 AND i % 5 = 0 THEN 'stale' ELSE 'pending' END, 0, i, CASE WHEN i < 2000 THEN 1 ELSE 0 END FROM generate_series(0, 9999) AS i; " +
        "INSERT INTO ocp_delivery_attempts (delivery_id, attempted_at, outcome, status, error, duration_ms) SELECT id, id, 'retry', 503, 'OCP® answered 503', 10 FROM ocp_deliveries WHERE head = 1";

    private protected override string Analyze => "ANALYZE";

    private protected override string Explain(string sql) => "EXPLAIN " + sql;

    private protected override string DeadLetterIndex => "ocp_deliveries_dead ";

    private protected override bool Sorts(string line) => line.Contains("Sort", StringComparison.Ordinal);

    private protected override bool ScansTable(string line) => line.Contains("Seq Scan on ocp_deliveries", StringComparison.Ordinal);

    /// <summary>
    /// Every live event's lookup, batched (LookupBatcher): per event one probe of the keys' primary key and the two probes
    /// of what holds its conversation, never a scan of either table, whatever the batch holds.
    /// </summary>
    [Fact]
    public async Task The_batched_live_lookup_probes_the_key_and_conversation_indexes_per_event()
    {
        await using var connection = await SeededStoreAsync(analyzed: true);
        await using (var keys = connection.CreateCommand())
        {
            keys.CommandText = "INSERT INTO ocp_event_keys SELECT i, format('key-%s', i), 200, NULL, i FROM generate_series(1, 10000) AS i; ANALYZE ocp_event_keys";
            await keys.ExecuteNonQueryAsync();
        }

        var plan = await PlanAsync(connection, SqlDeliveryStore.LookupRows, ("k", new[] { "key-5", "key-00001-3" }), ("e", new[] { 5L, 0L }),
            ("since", new[] { 0L, 0L }), ("c", new[] { "c-00001", "c-99999" }));
        Output.WriteLine("live lookup, batched:\n  " + string.Join("\n  ", plan));
        Assert.Contains(plan, line => line.Contains("ocp_event_keys_pkey", StringComparison.Ordinal));
        Assert.Contains(plan, line => line.Contains(DeadLetterIndex, StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.Contains("Seq Scan", StringComparison.Ordinal));
    }
}
