using Prometheus;

namespace OcpTalkdesk.Gateway.Metrics;

/// <summary>
/// Adds prometheus-net's process metrics, the observable .NET meters (runtime, GC, thread pool) and
/// the <c>System.Runtime</c> and <c>Yarp.ReverseProxy</c> (YARP's forwarder) event counters to the
/// gateway's registry while the host runs; per-request instruments are left out, see below.
/// </summary>
internal sealed class RuntimeMetricsCollector(GatewayMetrics metrics) : IHostedService, IDisposable
{
    private IDisposable? _eventCounters;
    private IDisposable? _meters;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        DotNetStats.Register(metrics.Registry);
        _eventCounters = EventCounterAdapter.StartListening(new EventCounterAdapterOptions
        {
            MetricFactory = Prometheus.Metrics.WithCustomRegistry(metrics.Registry),
            // Only the runtime's counters and YARP's forwarder counters. Enabling an event source turns
            // on its per-request bookkeeping (Kestrel, HttpClient, hosting, sockets), which cost about a
            // tenth of the gateway's CPU per event (bench/load.sh); the gateway's own series count and
            // time every call instead.
            EventSourceFilterPredicate = static name => name is "System.Runtime" or "Yarp.ReverseProxy",
            // Counters only: their payloads are written at LogAlways, so Critical still receives them, while
            // the adapter's default (Informational) also switched on YARP's five or so events per forwarded
            // request, each written and dispatched to this listener only to be ignored (bench/profile.sh).
            EventSourceSettingsProvider = static _ => new EventCounterAdapterEventSourceSettings { MinimumLevel = System.Diagnostics.Tracing.EventLevel.Critical },
        });
        _meters = MeterAdapter.StartListening(new MeterAdapterOptions
        {
            Registry = metrics.Registry,
            // Observable instruments (runtime, process, pools) are read at scrape time and cost nothing
            // per request. The per-request instruments of ASP.NET Core, Kestrel and HttpClient would
            // cost about a sixth of the gateway's CPU through the adapter (measured with bench/load.sh),
            // and the gateway's own series already count and time every call.
            InstrumentFilterPredicate = static instrument => IsObservable(instrument),
        });
        return Task.CompletedTask;
    }

    private static bool IsObservable(System.Diagnostics.Metrics.Instrument instrument)
    {
        var type = instrument.GetType();
        return type.IsGenericType && type.Name.StartsWith("Observable", StringComparison.Ordinal);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _eventCounters?.Dispose();
        _meters?.Dispose();
        _eventCounters = null;
        _meters = null;
    }
}
