using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.OperatorConsole;

/// <summary>
/// The schema rejections of the last hour by event type and keyword, for the overview: the counters the gateway already
/// keeps count since start, so a snapshot is taken each minute and the last hour is the counters now less the snapshot
/// of an hour ago (less the oldest one kept, while the gateway has run for less than an hour). No bodies, no new counting
/// on the event path. Prometheus answers the same with <c>increase(...[1h])</c>; this is for the console alone.
/// </summary>
public sealed class RejectionHistory : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Span = TimeSpan.FromHours(1);
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Queue<(DateTimeOffset At, Dictionary<(string EventType, string Keyword), double> Totals)> _snapshots = new();

    /// <summary>Takes the first snapshot now (an empty one: the counters start at zero with the process).</summary>
    public RejectionHistory(GatewayMetrics metrics, TimeProvider time)
    {
        (_metrics, _time) = (metrics, time);
        _snapshots.Enqueue((time.GetUtcNow(), []));
    }

    /// <summary>Rejections since <c>Since</c> (an hour ago, or the gateway's start when later), most first.</summary>
    internal (DateTimeOffset Since, IReadOnlyList<(string EventType, string Keyword, long Count)> Rows) LastHour()
    {
        var now = _metrics.SchemaRejectionTotals();
        (DateTimeOffset At, Dictionary<(string EventType, string Keyword), double> Totals) then;
        lock (_gate)
        {
            Trim(_time.GetUtcNow());
            then = _snapshots.Peek();
        }

        var rows = now.Select(pair => (pair.Key.EventType, pair.Key.Keyword, Count: (long)(pair.Value - then.Totals.GetValueOrDefault(pair.Key))))
            .Where(row => row.Count > 0)
            .OrderByDescending(row => row.Count).ThenBy(row => row.EventType, StringComparer.Ordinal).ThenBy(row => row.Keyword, StringComparer.Ordinal)
            .ToList();
        return (then.At, rows);
    }

    /// <summary>Takes a snapshot now (the timer's work, callable from tests).</summary>
    internal void Sample()
    {
        var totals = _metrics.SchemaRejectionTotals();
        lock (_gate)
        {
            _snapshots.Enqueue((_time.GetUtcNow(), totals));
            Trim(_time.GetUtcNow());
        }
    }

    // Keeps the newest snapshot at or before an hour ago as the oldest: the base the last hour is counted from.
    private void Trim(DateTimeOffset now)
    {
        while (_snapshots.Count > 1 && _snapshots.ElementAt(1).At <= now - Span)
        {
            _snapshots.Dequeue();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every, _time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            Sample();
        }
    }
}
