using OcpTalkdesk.Gateway.Outcomes;
using Prometheus;

namespace OcpTalkdesk.Gateway.Metrics;

/// <summary>
/// Every metric the gateway defines, in one place, on the application's own registry (so two
/// gateways in one process, as in the tests, never share counts). Prometheus naming: base units,
/// <c>_total</c> counters, <c>_seconds</c> durations.
/// </summary>
public sealed class GatewayMetrics
{
    /// <summary>From 0.5 ms (a rejected event) to 30 s (Talkdesk's longest execution timeout).</summary>
    internal static readonly double[] DurationBuckets =
        [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 7.5, 10, 15, 20, 30];

    private readonly Counter _requests;
    private readonly Histogram _duration;
    private readonly Histogram _upstreamDuration;
    private readonly Counter _schemaRejections;
    private readonly Gauge _inFlight;
    private readonly Counter _inboundRejections;
    private readonly Counter _tokenRequests;
    private readonly Counter _tokenRefreshes;
    private readonly Gauge _tokenExpiry;
    private readonly Counter _configRejections;
    private readonly Counter _parked;
    private readonly Counter _attempts;
    private readonly Counter _deadLetters;
    private readonly Counter _storeErrors;
    private readonly Histogram _parkBatch;
    private readonly Counter _parkRefused;
    private readonly Gauge _queueDepth;
    private readonly Gauge _oldestPending;
    private readonly Gauge _rowsWithoutKey;
    private readonly Counter _bodiesRejected;
    private readonly Counter _deadLettersExpired;
    private readonly Gauge _breakerState;
    private readonly Counter _stale;
    private readonly Counter _breakerSeconds;
    private readonly Counter _pushbacks;
    private readonly Gauge _redeliveryConcurrency;

    /// <summary>Creates the metrics on a new registry.</summary>
    public GatewayMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _requests = factory.CreateCounter("ocp_gateway_requests_total",
            "Calls on Talkdesk routes by outcome and the status answered.", ["route", "event_type", "outcome", "status_code"]);
        _duration = factory.CreateHistogram("ocp_gateway_request_duration_seconds",
            "Time the gateway held a call, from routing to the end of the answer.", ["route", "event_type", "outcome"],
            new HistogramConfiguration { Buckets = DurationBuckets });
        _upstreamDuration = factory.CreateHistogram("ocp_gateway_upstream_duration_seconds",
            "Time spent forwarding to OCP® and relaying its answer.", ["route", "event_type", "status_code"],
            new HistogramConfiguration { Buckets = DurationBuckets });
        _schemaRejections = factory.CreateCounter("ocp_gateway_schema_rejections_total",
            "Events rejected by their schema, once per failing keyword.", ["route", "event_type", "keyword"]);
        _inboundRejections = factory.CreateCounter("ocp_gateway_inbound_auth_rejections_total",
            "Callers refused before their body was read, by reason: missing, invalid, forbidden.", ["route", "reason"]);
        _inFlight = factory.CreateGauge("ocp_gateway_requests_in_flight", "Calls the gateway is holding now.", ["route"]);
        _tokenRequests = factory.CreateCounter("ocp_gateway_token_requests_total",
            "Token requests to the token endpoint by result.", ["token_client", "result"]);
        _tokenRefreshes = factory.CreateCounter("ocp_gateway_token_refreshes_total",
            "Tokens replaced by a renewed one.", ["token_client"]);
        _tokenExpiry = factory.CreateGauge("ocp_gateway_token_expiry_seconds",
            "Seconds until the cached token expires (0 when none is valid).", ["token_client"]);
        _configRejections = factory.CreateCounter("ocp_gateway_config_reload_rejections_total",
            "Changes to the Gateway section or a schema file that were refused (the last good configuration stays).");
        _configRejections.Publish();
        _parked = factory.CreateCounter("ocp_gateway_delivery_parked_total",
            "Events kept by store-and-forward because OCP® could not take them (or an earlier event of their conversation was waiting).", ["event_type"]);
        _attempts = factory.CreateCounter("ocp_gateway_delivery_attempts_total",
            "Redelivery attempts by outcome: delivered, rejected (OCP®'s final 4xx), retry, pushback (OCP® asked for less; not counted against the event).", ["outcome"]);
        _deadLetters = factory.CreateCounter("ocp_gateway_delivery_dead_letters_total", "Events dead-lettered after MaxAge (or behind one).");
        _storeErrors = factory.CreateCounter("ocp_gateway_delivery_store_errors_total", "Delivery store operations that failed.");
        _parkBatch = factory.CreateHistogram("ocp_gateway_delivery_park_batch_events",
            "Events committed together in one park transaction (group commit); the count is the number of commits.",
            new HistogramConfiguration { Buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] });
        _parkRefused = factory.CreateCounter("ocp_gateway_delivery_park_refused_total",
            "Events answered 503 with Retry-After at once because Gateway:Delivery:MaxWaitingParks were already waiting for the store.");
        _queueDepth = factory.CreateGauge("ocp_gateway_delivery_queue_depth", "Events the delivery store holds, by state.", ["state"]);
        _oldestPending = factory.CreateGauge("ocp_gateway_delivery_oldest_pending_age_seconds", "Age of the oldest event waiting for delivery (0 when none).");
        _rowsWithoutKey = factory.CreateGauge("ocp_gateway_delivery_rows_without_key",
            "Stored events encrypted with a key this gateway does not have (kept, not delivered), by key id.", ["key_id"]);
        _bodiesRejected = factory.CreateCounter("ocp_gateway_delivery_bodies_rejected_total",
            "Stored bodies that did not decrypt under their own row (changed or moved): dead-lettered, never delivered.");
        _deadLettersExpired = factory.CreateCounter("ocp_gateway_delivery_dead_letters_expired_total",
            "Dead letters whose bodies were removed after DeadLetterRetention (the rows stay as tombstones).");
        _stale = factory.CreateCounter("ocp_gateway_delivery_stale_total",
            "Events set aside as stale: not delivered within their event type's ExpireAfter (kept, replayable).", ["event_type"]);
        _breakerState = factory.CreateGauge("ocp_gateway_delivery_breaker_state",
            "The circuit breaker per OCP® cluster: 0 closed (events forwarded), 1 half-open (the worker probes), 2 open (events parked at once).", ["cluster"]);
        _breakerSeconds = factory.CreateCounter("ocp_gateway_delivery_breaker_seconds_total",
            "Seconds each cluster's circuit breaker spent in each state (closed, half_open, open).", ["cluster", "state"]);
        _pushbacks = factory.CreateCounter("ocp_gateway_delivery_pushbacks_total",
            "Answers in which OCP® asked for less (429, or 503 with Retry-After), by cluster and source (live, redelivery).", ["cluster", "source"]);
        _redeliveryConcurrency = factory.CreateGauge("ocp_gateway_delivery_redelivery_concurrency",
            "How many forwards the paced drain allows in flight to each OCP® cluster now (live events included), as it adapts to OCP®'s answers.", ["cluster"]);
    }

    /// <summary>The registry <c>/metrics</c> exports.</summary>
    public CollectorRegistry Registry { get; }

    internal Gauge.Child InFlight(string route) => _inFlight.WithLabels([route]);

    internal void RequestCompleted(string route, string eventType, Outcome outcome, int status, double seconds)
    {
        var outcomeLabel = MetricLabels.Of(outcome);
        _requests.WithLabels([route, eventType, outcomeLabel, MetricLabels.StatusCode(status)]).Inc();
        _duration.WithLabels([route, eventType, outcomeLabel]).Observe(seconds);
    }

    internal void UpstreamCompleted(string route, string eventType, int status, double seconds) =>
        _upstreamDuration.WithLabels([route, eventType, MetricLabels.StatusCode(status)]).Observe(seconds);

    internal void SchemaRejected(string route, string eventType, string keyword) =>
        _schemaRejections.WithLabels([route, eventType, keyword]).Inc();

    /// <summary>The schema rejections counted since start, by event type and keyword (summed over routes), for the console.</summary>
    internal Dictionary<(string EventType, string Keyword), double> SchemaRejectionTotals()
    {
        var totals = new Dictionary<(string, string), double>();
        foreach (var labels in _schemaRejections.GetAllLabelValues())
        {
            var key = (labels[1], labels[2]);
            totals[key] = totals.GetValueOrDefault(key) + _schemaRejections.WithLabels(labels).Value;
        }

        return totals;
    }

    /// <summary>Publishes a token client's series at zero, so dashboards and alerts see them before the first event.</summary>
    internal void AddTokenClient(string tokenClient)
    {
        _tokenRequests.WithLabels([tokenClient, "success"]).Publish();
        _tokenRequests.WithLabels([tokenClient, "failure"]).Publish();
        _tokenRefreshes.WithLabels([tokenClient]).Publish();
        _tokenExpiry.WithLabels([tokenClient]).Publish();
    }

    internal void InboundRejected(string route, string reason) => _inboundRejections.WithLabels([route, reason]).Inc();

    internal void TokenRequested(string tokenClient, bool success) =>
        _tokenRequests.WithLabels([tokenClient, success ? "success" : "failure"]).Inc();

    internal void TokenRefreshed(string tokenClient) => _tokenRefreshes.WithLabels([tokenClient]).Inc();

    internal void ConfigReloadRejected() => _configRejections.Inc();

    /// <summary>Publishes the delivery series at zero, so dashboards see them before the first outage.</summary>
    internal void EnableDelivery()
    {
        foreach (var outcome in new[] { "delivered", "rejected", "retry", "pushback" })
        {
            _attempts.WithLabels([outcome]).Publish();
        }

        _deadLetters.Publish();
        _storeErrors.Publish();
        _parkRefused.Publish();
        _oldestPending.Publish();
        _bodiesRejected.Publish();
        _deadLettersExpired.Publish();
    }

    /// <summary>Sets the rows-without-key gauge per key id; ids no longer missing go back to 0.</summary>
    internal void KeysMissing(IReadOnlyDictionary<string, long> missing)
    {
        foreach (var labels in _rowsWithoutKey.GetAllLabelValues())
        {
            if (!missing.ContainsKey(labels[0]))
            {
                _rowsWithoutKey.WithLabels(labels).Set(0);
            }
        }

        foreach (var (keyId, count) in missing)
        {
            _rowsWithoutKey.WithLabels([keyId]).Set(count);
        }
    }

    internal void BodiesRejected(long total) => _bodiesRejected.IncTo(total);

    internal void DeadLettersExpired(int count) => _deadLettersExpired.Inc(count);

    internal void SetAsideStale(string eventType, int count) => _stale.WithLabels([eventType]).Inc(count);

    internal void Parked(string eventType) => _parked.WithLabels([eventType]).Inc();

    internal void DeliveryAttempted(string outcome) => _attempts.WithLabels([outcome]).Inc();

    internal void DeadLettered(int count) => _deadLetters.Inc(count);

    internal void StoreFailed() => _storeErrors.Inc();

    internal void ParkBatch(int events) => _parkBatch.Observe(events);

    internal void ParkRefused() => _parkRefused.Inc();

    internal void QueueObserved(IReadOnlyDictionary<string, long> counts, double oldestPendingSeconds)
    {
        foreach (var (state, count) in counts)
        {
            _queueDepth.WithLabels([state]).Set(count);
        }

        _oldestPending.Set(oldestPendingSeconds);
    }

    /// <summary>A breaker's current state (0, 1, 2), and <paramref name="seconds"/> more spent in <paramref name="state"/>.</summary>
    internal void BreakerObserved(string cluster, int current, string state, double seconds)
    {
        _breakerState.WithLabels([cluster]).Set(current);
        _breakerSeconds.WithLabels([cluster, state]).Inc(seconds);
    }

    internal void PushedBack(string cluster, string source, int count) => _pushbacks.WithLabels([cluster, source]).Inc(count);

    internal void RedeliveryConcurrency(string cluster, double limit) => _redeliveryConcurrency.WithLabels([cluster]).Set(limit);

    internal void TokenExpiresIn(string tokenClient, double seconds) => _tokenExpiry.WithLabels([tokenClient]).Set(seconds);
}
