using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The accepted keys of recent events, in memory, for a store this process alone writes (SQLite: one replica).
/// It holds <b>every</b> recorded key whose event's own timestamp is at or after <see cref="Floor"/>, so for such
/// an event a miss here is as good as a miss in the key table, and the live step skips the table (a statement
/// per event was ~15 µs, most of store-and-forward's cost once the key writes were cheap). Older events, events
/// without a timestamp go to the table, which stays the truth. The floor only
/// rises: to now − <see cref="Window"/> on each sweep, and past a key it had no room for, so memory stays bounded
/// by <see cref="Capacity"/> without ever answering "new" for a key it dropped.
/// </summary>
/// <remarks>
/// Written here because no served library keeps an exact, bounded, time-floored set: a cache (MemoryCache) may
/// evict an entry while still answering for its time range, which would let a resend through as new.
/// </remarks>
internal sealed class RecentKeys(TimeProvider time, TimeSpan? span = null, int capacity = 1_000_000)
{
    // Plain dictionaries of structs behind a lock per shard, not a ConcurrentDictionary: a million live keys
    // would be a million node objects for the GC to promote and mark; these arrays hold no references at all.
    private const int ShardCount = 16;
    private readonly Shard[] _shards = [.. Enumerable.Range(0, ShardCount).Select(_ => new Shard())];
    private readonly long _spanMs = (long)(span ?? DefaultSpan).TotalMilliseconds;
    private readonly Lock _sweepLock = new();
    private long _floor = long.MaxValue; // nothing is answered from memory until Load has run
    private long _count;
    private long _nextSweep;

    /// <summary>How far back (by the event's own timestamp) memory answers: Talkdesk sends events as they happen.</summary>
    public static readonly TimeSpan DefaultSpan = TimeSpan.FromMinutes(1);

    public TimeSpan Window => TimeSpan.FromMilliseconds(_spanMs);

    public int Capacity => capacity;

    /// <summary>Events with a timestamp (Unix ms) at or after this are answered from memory.</summary>
    public long Floor => Volatile.Read(ref _floor);

    public long Count => Interlocked.Read(ref _count);

    /// <summary>
    /// Answers for the key when memory can: true with the earlier answer (accepted at or after
    /// <paramref name="since"/>, Unix ms) or null for a new key; false when only the table can tell.
    /// </summary>
    public bool TryFind(string key, long eventAt, long since, out (int Status, long? Id)? earlier)
    {
        earlier = null;
        if (eventAt < Volatile.Read(ref _floor))
        {
            return false;
        }

        var fingerprint = Fingerprint(key);
        var shard = ShardOf(fingerprint);
        bool found;
        Entry entry;
        lock (shard.Gate)
        {
            found = shard.Map.TryGetValue(fingerprint, out entry);
        }

        if (eventAt < Volatile.Read(ref _floor))
        {
            // A sweep raised the floor past this key meanwhile and may have removed it (it raises the floor before it
            // removes anything, under the shard's lock, so a miss caused by a removal always sees the new floor here).
            return false;
        }

        if (found && entry.AcceptedAt >= since)
        {
            earlier = (entry.Status, entry.Id == 0 ? null : entry.Id);
        }

        return true;
    }

    /// <summary>Remembers a recorded key (call before or with its write to the table; the first answer stands).</summary>
    /// <summary>
    /// Holds the key when its event time is at or above the floor. True only when memory will still hold it for
    /// at least half a window: a key near the floor may be swept before the key writer has put it in the
    /// table, and for that time the writer must answer for it itself (a resend would otherwise reach OCP® twice).
    /// </summary>
    public bool Add(string key, long eventAt, int status, long? id, long acceptedAt)
    {
        if (eventAt < Volatile.Read(ref _floor))
        {
            return false; // answered by the table
        }

        if (Interlocked.Read(ref _count) >= capacity)
        {
            // No room: memory must no longer answer for this key's time, so the floor passes it; the next sweep makes room.
            RaiseFloor(eventAt + 1);
            Volatile.Write(ref _nextSweep, 0);
            return false;
        }

        if (TryAdd(key, new Entry(eventAt, acceptedAt, id ?? 0, status)))
        {
            Interlocked.Increment(ref _count);
        }

        // Half a window of margin: a sweep (floor = now - window) cannot reach this key for that long, far more than a
        // key batch takes to be written.
        return eventAt >= time.GetUtcNow().ToUnixTimeMilliseconds() - (_spanMs / 2);
    }

    private bool TryAdd(string key, Entry entry)
    {
        var fingerprint = Fingerprint(key);
        var shard = ShardOf(fingerprint);
        lock (shard.Gate)
        {
            return shard.Map.TryAdd(fingerprint, entry);
        }
    }

    /// <summary>Forgets a key (its conversation was erased): a resend of that event is then new, as it is for the table.</summary>
    public void Forget(string key)
    {
        var fingerprint = Fingerprint(key);
        var shard = ShardOf(fingerprint);
        bool removed;
        lock (shard.Gate)
        {
            removed = shard.Map.Remove(fingerprint);
        }

        if (removed)
        {
            Interlocked.Decrement(ref _count);
        }
    }

    private Shard ShardOf(UInt128 fingerprint) => _shards[(int)((ulong)fingerprint % ShardCount)];

    /// <summary>Fills memory at start from the table's newest keys (<paramref name="newestFirst"/>), then answers from <paramref name="floor"/> on.</summary>
    public void Load(IEnumerable<(string Key, long EventAt, int Status, long? Id, long AcceptedAt)> newestFirst, long floor)
    {
        var lowest = long.MaxValue;
        var loaded = 0;
        foreach (var (key, eventAt, status, id, acceptedAt) in newestFirst)
        {
            if (loaded == capacity)
            {
                floor = Math.Max(floor, lowest + 1); // the rest did not fit
                break;
            }

            if (TryAdd(key, new Entry(eventAt, acceptedAt, id ?? 0, status)))
            {
                loaded++;
            }

            lowest = Math.Min(lowest, eventAt);
        }

        Interlocked.Add(ref _count, loaded);
        Volatile.Write(ref _floor, floor);
        Volatile.Write(ref _nextSweep, time.GetUtcNow().ToUnixTimeMilliseconds() + _spanMs / 4);
    }

    /// <summary>The floor a start-up load should use (keys at or after it are loaded).</summary>
    public long StartFloor() => time.GetUtcNow().ToUnixTimeMilliseconds() - _spanMs;

    /// <summary>Raises the floor to now − <see cref="Window"/> and forgets the keys below it, when due (every quarter span, or when full).</summary>
    public void SweepIfDue()
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (now < Volatile.Read(ref _nextSweep) || Volatile.Read(ref _floor) == long.MaxValue || !_sweepLock.TryEnter())
        {
            return;
        }

        try
        {
            RaiseFloor(now - _spanMs);
            var floor = Volatile.Read(ref _floor);
            foreach (var shard in _shards)
            {
                var removed = 0;
                lock (shard.Gate)
                {
                    foreach (var (fingerprint, entry) in shard.Map)
                    {
                        if (entry.EventAt < floor && shard.Map.Remove(fingerprint))
                        {
                            removed++;
                        }
                    }
                }

                Interlocked.Add(ref _count, -removed);
            }

            Volatile.Write(ref _nextSweep, now + _spanMs / 4);
        }
        finally
        {
            _sweepLock.Exit();
        }
    }

    private void RaiseFloor(long floor)
    {
        var current = Volatile.Read(ref _floor);
        while (floor > current)
        {
            var seen = Interlocked.CompareExchange(ref _floor, floor, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    // The key is the SHA-256 of the event in hex; its first 128 bits tell events apart (a collision among a
    // million keys is ~1e-27 likely) and take 16 bytes instead of a 64-character string. Other keys (tests) are hashed.
    private static UInt128 Fingerprint(string key)
    {
        Span<byte> bytes = stackalloc byte[SHA256.HashSizeInBytes];
        if (key.Length != 2 * SHA256.HashSizeInBytes
            || Convert.FromHexString(key.AsSpan(0, 32), bytes, out _, out _) != OperationStatus.Done)
        {
            SHA256.HashData(MemoryMarshal.AsBytes(key.AsSpan()), bytes);
        }

        return BinaryPrimitives.ReadUInt128LittleEndian(bytes);
    }

    private readonly record struct Entry(long EventAt, long AcceptedAt, long Id, int Status);

    private sealed class Shard
    {
        public Lock Gate { get; } = new();

        public Dictionary<UInt128, Entry> Map { get; } = [];
    }
}
