using BenchmarkDotNet.Attributes;
using OcpTalkdesk.Gateway.Delivery;

namespace OcpTalkdesk.Gateway.Benchmarks;

/// <summary>
/// Store-and-forward's per-event store work on the embedded SQLite store with OCP® healthy (issue #12):
/// recording a batch of accepted keys, and the live lookup, against a table already holding
/// <see cref="KeysHeld"/> keys (the dedup window fills it in production). A fresh file per parameter set.
/// </summary>
[MemoryDiagnoser]
public class DeliveryStoreBenchmarks : IAsyncDisposable
{
    private const int Batch = 400; // ~100 ms of keys at 4 000 events/s, as the key writer batches them
    private string _folder = null!;
    private SqliteDeliveryStore _store = null!;
    private long _next;

    /// <summary>Keys the table holds before the measured operations.</summary>
    [Params(10_000, 200_000)]
    public int KeysHeld { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "ocp-store-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        _store = new SqliteDeliveryStore($"Data Source={Path.Combine(_folder, "deliveries.db")}");
        await _store.InitializeAsync(CancellationToken.None);
        for (var written = 0; written < KeysHeld; written += Batch)
        {
            await _store.RecordKeysAsync(NextBatch(), CancellationToken.None);
        }
    }

    [GlobalCleanup]
    public async Task Cleanup() => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }

        GC.SuppressFinalize(this);
    }

    [Benchmark(Description = "RecordKeysAsync, 400 new keys (one commit)", OperationsPerInvoke = Batch)]
    public Task RecordKeys() => _store.RecordKeysAsync(NextBatch(), CancellationToken.None);

    [Benchmark(Description = "LookupAsync, a new live event (answered from memory)")]
    public ValueTask<((int Status, long? Id)? Earlier, string? Blocking)> Lookup() =>
        _store.LookupAsync(Key(_next++ + 1_000_000_000), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddHours(-24), "conversation-1", CancellationToken.None);

    [Benchmark(Description = "LookupAsync, a new event with an old timestamp (asks the table)")]
    public ValueTask<((int Status, long? Id)? Earlier, string? Blocking)> LookupOld() =>
        _store.LookupAsync(Key(_next++ + 1_000_000_000), DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddHours(-24), "conversation-1", CancellationToken.None);

    private List<AcceptedKey> NextBatch()
    {
        // Live events carry their own time (now, give or take): the key table is ordered by it.
        var now = DateTimeOffset.UtcNow;
        var batch = new List<AcceptedKey>(Batch);
        for (var i = 0; i < Batch; i++)
        {
            batch.Add(new AcceptedKey(Key(_next++), now.ToUnixTimeMilliseconds(), 200, now));
        }

        return batch;
    }

    // The same shape as a real Idempotency-Key: 64 hex characters of a SHA-256, so keys land at random places.
    private static string Key(long n) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(n)));
}
