using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The paced drain (docs/decisions/0009-paced-drain.md): one <see cref="ClusterPace"/> per OCP® cluster, which the
/// redelivery worker asks before each send and tells how each ended, and which the live step tells when a live event is in
/// flight or was pushed back. Pushback is logged as a rate: one line per cluster per interval, with the counts.
/// </summary>
internal sealed class RedeliveryPacing(IOptionsMonitor<DeliveryOptions> options, GatewayMetrics metrics, TimeProvider time, ILogger<RedeliveryPacing> logger)
{
    /// <summary>How often pushback is summed up in one log line (when there was any).</summary>
    public static readonly TimeSpan ReportEvery = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, ClusterPace> _paces = new(StringComparer.Ordinal);
    private DateTimeOffset _lastReport = time.GetUtcNow();

    /// <summary>The cluster's pace, made on first use from the current settings.</summary>
    public ClusterPace For(string cluster) =>
        _paces.TryGetValue(cluster, out var pace) ? pace : _paces.GetOrAdd(cluster, static (name, state) => state.Create(name), this);

    /// <summary>Every cluster's pace seen so far.</summary>
    public ICollection<ClusterPace> All => _paces.Values;

    private ClusterPace Create(string cluster)
    {
        var settings = options.CurrentValue;
        // Both series from the start, so a dashboard or an alert sees 0 rather than nothing.
        metrics.PushedBack(cluster, "live", 0);
        metrics.PushedBack(cluster, "redelivery", 0);
        return new ClusterPace(cluster, settings.MaxRedeliveryConcurrency, settings.MaxRedeliveryRate, time);
    }

    /// <summary>Publishes each cluster's limit; once per <see cref="ReportEvery"/>, one line per cluster that was pushed back.</summary>
    public void Report(DateTimeOffset now)
    {
        var summarise = now - _lastReport >= ReportEvery;
        foreach (var pace in _paces.Values)
        {
            metrics.RedeliveryConcurrency(pace.Cluster, pace.Allowed);
            if (summarise && pace.TakePushbacks() is var (live, redelivery) && live + redelivery > 0)
            {
                DeliveryLog.PushedBack(logger, pace.Cluster, live + redelivery, (now - _lastReport).TotalSeconds, live, redelivery, pace.Allowed);
            }
        }

        if (summarise)
        {
            _lastReport = now;
        }
    }

    /// <summary>A redelivery forward ended: its slot back to the pace (and a pushback on the metrics at once; the log sums them up).</summary>
    public void Finished(ClusterPace pace, PaceTicket ticket, PaceSignal signal, TimeSpan latency)
    {
        pace.Finished(ticket, signal, latency);
        if (signal == PaceSignal.PushedBack)
        {
            metrics.PushedBack(pace.Cluster, "redelivery", 1);
        }
    }

    /// <summary>OCP® pushed back on a live forward: the drain slows down for live events.</summary>
    public void LivePushedBack(ClusterPace pace, PaceTicket ticket)
    {
        pace.LivePushedBack(ticket);
        metrics.PushedBack(pace.Cluster, "live", 1);
    }
}
