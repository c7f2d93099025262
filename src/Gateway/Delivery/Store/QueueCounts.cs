namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The store's counts by state for its periodic readers: the worker's queue gauges each second and every readiness
/// probe. A count reads every row — the held events and the finished ones kept for the dedup window — so its cost grows
/// with the backlog an outage builds (53 ms a read at 100,000 rows while parking into PostgreSQL at full rate,
/// bench/README.md), and read each second by each replica it would take a growing share of the store exactly when the
/// store is busiest. So the counts are read again only once <see cref="CostFactor"/> times their last read's duration
/// has passed (at most 2 % of one connection's time), and at least every <see cref="MostStale"/>: a small store is read
/// as often as asked, a large one no more than it can afford. The admin API and the console read the store itself
/// (exact, at an operator's request); the oldest held event's age, which the alert follows, is read fresh each time.
/// </summary>
internal sealed class QueueCounts(Func<CancellationToken, Task<IReadOnlyDictionary<string, long>>> read, TimeProvider time)
{
    /// <summary>The counts of <paramref name="store"/>.</summary>
    public QueueCounts(IDeliveryStore store, TimeProvider time)
        : this(store.CountsAsync, time)
    {
    }

    /// <summary>How many times a read's own duration its result is kept.</summary>
    internal const int CostFactor = 50;

    /// <summary>The longest the counts are kept however slow their read was.</summary>
    internal static readonly TimeSpan MostStale = TimeSpan.FromMinutes(1);

    private Snapshot? _last;

    /// <summary>The counts by state, read now or at most a bounded while ago (see the class).</summary>
    public async Task<IReadOnlyDictionary<string, long>> ReadAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        if (Volatile.Read(ref _last) is { } last && time.GetElapsedTime(last.ReadAt, started) < last.KeptFor)
        {
            return last.Counts;
        }

        // Two readers at once may both read: harmless, and cheaper than making one wait for the other.
        var counts = await read(cancellationToken);
        var took = time.GetElapsedTime(started);
        Volatile.Write(ref _last, new Snapshot(counts, started, took * CostFactor < MostStale ? took * CostFactor : MostStale));
        return counts;
    }

    private sealed record Snapshot(IReadOnlyDictionary<string, long> Counts, long ReadAt, TimeSpan KeptFor);
}
