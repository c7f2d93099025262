using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Tracing;
using OcpTalkdesk.Gateway.Validation;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Delivers parked events: claims the due head of each conversation (a lease, so one replica at a time),
/// forwards it through YARP's own forwarder with the route's transforms (the same token, <c>Idempotency-Key</c>
/// and path as a live event), and completes, reschedules with backoff, or dead-letters it after
/// <see cref="DeliveryOptions.MaxAge"/>. Sends are paced per cluster (<see cref="RedeliveryPacing"/>): a slot that
/// frees is filled at once, so a drain runs at what OCP® takes, not in rounds. Also keeps the queue metrics and prunes.
/// </summary>
internal sealed class RedeliveryWorker(IDeliveryStore store, IHttpForwarder forwarder, IProxyStateLookup proxyState,
    SchemaRegistry schemas, IOptionsMonitor<DeliveryOptions> options, StoreHealth health, OcpBreakers breakers, RedeliveryPacing pacing,
    GatewayMetrics metrics, QueueCounts counts, IServiceProvider services, TimeProvider time, ILogger<RedeliveryWorker> logger) : BackgroundService
{
    private const int ClaimBatch = 128;
    private const int MostUnfinished = 10_000;
    private static readonly TimeSpan HousekeepingEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(10);
    private readonly string _owner = Environment.MachineName + "/" + Environment.ProcessId + "/" + Guid.NewGuid().ToString("N")[..8];
    private readonly HashSet<string> _reportedMissingKeys = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentQueue<AttemptResult> _done = new();
    private readonly List<AttemptResult> _unfinished = [];
    private readonly List<Task> _running = [];
    private readonly Queue<StoredEvent> _ready = new();
    private readonly Lock _readyGate = new();
    private CancellationTokenSource? _wake;
    private int _woken;
    private int _inFlight;
    private DateTimeOffset _lastPrune;
    private DateTimeOffset _lastHousekeeping;

    /// <summary>Asks the worker to look for due events now (after an operator's replay).</summary>
    public void Wake()
    {
        Volatile.Write(ref _woken, 1);
        Signal();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.EnableDelivery();
        while (!stoppingToken.IsCancellationRequested)
        {
            var settings = options.CurrentValue;
            var more = false;
            try
            {
                await HousekeepAsync(settings, stoppingToken);
                more = await FinishClaimAndSendAsync(settings, stoppingToken);
                health.Succeeded();
            }
            catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex))
            {
                health.Failed("redelivery", ex);
                metrics.StoreFailed();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            // Straight on while there are due events and room for them; otherwise until a send ends (its slot and maybe
            // its conversation's next event are free), an operator's replay, or the poll interval.
            if (!more)
            {
                await WaitAsync(settings.PollInterval, stoppingToken);
            }
        }

        // Stopping: claimed events not yet sent go back as they were; the sends in flight end on the token, and what OCP®
        // answered is still recorded.
        PutBackReady();
        Task[] running;
        lock (_readyGate)
        {
            running = [.. _running];
        }

        await Task.WhenAll(running);
        try
        {
            await FinishAsync();
        }
        catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex))
        {
            health.Failed("redelivery", ex);
        }
    }

    private void Signal()
    {
        try
        {
            Volatile.Read(ref _wake)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The worker had already woken up.
        }
    }

    private async Task WaitAsync(TimeSpan pollInterval, CancellationToken stoppingToken)
    {
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Volatile.Write(ref _wake, wake);
        try
        {
            // Checked after _wake is set: a send that ended or a replay that came just before is not missed.
            if (_done.IsEmpty && Interlocked.Exchange(ref _woken, 0) == 0)
            {
                await Task.Delay(pollInterval, time, wake.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Woken early, or stopping (the loop sees which).
        }
        finally
        {
            Volatile.Write(ref _wake, null);
        }
    }

    /// <summary>Dead letters, stale events, the queue metrics and the pace once a second; pruning every ten minutes.</summary>
    private async Task HousekeepAsync(DeliveryOptions settings, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - _lastHousekeeping < HousekeepingEvery)
        {
            return;
        }

        _lastHousekeeping = now;
        foreach (var expired in await store.ExpiredAsync(now - settings.MaxAge, cancellationToken))
        {
            var count = await store.DeadLetterAsync(expired, $"not delivered within MaxAge ({settings.MaxAge})", now, cancellationToken);
            metrics.DeadLettered(count);
            DeliveryLog.DeadLettered(logger, expired, count);
        }

        foreach (var (eventType, after) in settings.ExpireAfter)
        {
            var stale = await store.SetAsideStaleAsync(eventType, now - after, now,
                $"expired: not delivered within ExpireAfter:{eventType} ({after}) of its arrival", cancellationToken);
            if (stale > 0)
            {
                metrics.SetAsideStale(eventType, stale);
                DeliveryLog.SetAsideStale(logger, stale, eventType, after);
            }
        }

        var oldest = await store.OldestHeldAsync(cancellationToken);
        metrics.QueueObserved(await counts.ReadAsync(cancellationToken), oldest is { } received ? Math.Max(0, (time.GetUtcNow() - received).TotalSeconds) : 0);
        var missing = await store.MissingKeysAsync(cancellationToken);
        metrics.KeysMissing(missing);
        foreach (var (keyId, count) in missing)
        {
            // One line per key id (not per row or per round), again if it goes missing again.
            if (_reportedMissingKeys.Add(keyId))
            {
                DeliveryLog.KeyMissing(logger, keyId, count);
            }
        }

        _reportedMissingKeys.RemoveWhere(k => !missing.ContainsKey(k));
        breakers.Observe(time.GetUtcNow());
        pacing.Report(time.GetUtcNow());
        if (store is SqlDeliveryStore sql)
        {
            metrics.BodiesRejected(sql.RejectedBodies);
        }

        if (now - _lastPrune > PruneEvery)
        {
            _lastPrune = now;
            await store.PruneAsync(now - settings.DedupWindow, cancellationToken);
            var dropped = await store.ExpireDeadLettersAsync(now - settings.DeadLetterRetention, cancellationToken);
            if (dropped > 0)
            {
                metrics.DeadLettersExpired(dropped);
                DeliveryLog.DeadLettersExpired(logger, dropped, settings.DeadLetterRetention);
            }
        }
    }

    /// <summary>
    /// Records every send that ended since the last call in one transaction (one disk sync for all of them). Recorded
    /// even when stopping: OCP® has answered, the store must know. Kept for the next call when the store fails.
    /// </summary>
    private async Task FinishAsync()
    {
        TakeDone();
        if (_unfinished.Count == 0)
        {
            return;
        }

        await store.FinishAsync(_owner, _unfinished, time.GetUtcNow(), CancellationToken.None);
        _unfinished.Clear();
    }

    private void TakeDone()
    {
        while (_done.TryDequeue(out var result))
        {
            _unfinished.Add(result);
        }
    }

    /// <summary>
    /// Records the sends that ended, claims due heads to fill the clusters' room and one window more — both in one store
    /// transaction when there are both (one commit a round, not two) — and starts what has room. The events beyond the
    /// room wait here, leased, so a send that ends is followed by the next at once (<see cref="StartReady"/>), not after two
    /// store transactions. True when there may be more due now and room for them, so the loop goes on without waiting.
    /// </summary>
    private async Task<bool> FinishClaimAndSendAsync(DeliveryOptions settings, CancellationToken cancellationToken)
    {
        lock (_readyGate)
        {
            _running.RemoveAll(static t => t.IsCompleted);
        }

        TakeDone();
        if (_unfinished.Count > MostUnfinished)
        {
            // The store has not taken the results for a long while: claim nothing more until it does.
            await FinishAsync();
            return false;
        }

        var now = time.GetUtcNow();
        int wanted;
        if (breakers.AnyOpen(out var openCluster))
        {
            // With a cluster's breaker open, nothing is sent until its break has run out; then one event is the probe.
            PutBackReady();
            wanted = Volatile.Read(ref _inFlight) == 0 && breakers.MayProbe(openCluster, now) ? 1 : 0;
        }
        else
        {
            int ready;
            lock (_readyGate)
            {
                ready = _ready.Count;
            }

            wanted = Math.Min(ClaimBatch, Room() + Window() - ready);
        }

        if (wanted <= 0)
        {
            await FinishAsync();
            StartReady(settings, cancellationToken);
            return false;
        }

        IReadOnlyList<StoredEvent> events;
        if (_unfinished.Count > 0)
        {
            // Recorded even when stopping (OCP® has answered): the results are not tied to the token, only the claim is.
            (_, events) = await store.FinishAndClaimAsync(_owner, _unfinished, now, settings.LeaseDuration, wanted, CancellationToken.None);
            _unfinished.Clear();
        }
        else
        {
            events = await store.ClaimAsync(_owner, now, settings.LeaseDuration, wanted, cancellationToken);
        }

        lock (_readyGate)
        {
            foreach (var stored in events)
            {
                _ready.Enqueue(stored);
            }
        }

        var started = StartReady(settings, cancellationToken, probe: wanted == 1 && openCluster.Length > 0);
        return events.Count == wanted && started > 0 && Room() > 0;
    }

    /// <summary>
    /// Starts claimed events while their cluster has room; returns how many. Called by the loop and by every send that
    /// ends. The queue is one line: an event whose cluster is full holds the others back (one cluster is the usual set-up).
    /// </summary>
    private int StartReady(DeliveryOptions settings, CancellationToken cancellationToken, bool probe = false)
    {
        var started = 0;
        lock (_readyGate)
        {
            while (_ready.TryPeek(out var stored) && !cancellationToken.IsCancellationRequested)
            {
                if (!probe && breakers.AnyOpen(out _))
                {
                    break;
                }

                var pace = PaceOf(stored);
                var ticket = default(PaceTicket);
                if (pace is not null && !pace.TryStart(out ticket, force: probe))
                {
                    break;
                }

                probe = false;
                _ready.Dequeue();
                Interlocked.Increment(ref _inFlight);
                _running.Add(SendAsync(stored, pace, ticket, settings, cancellationToken));
                started++;
            }
        }

        return started;
    }

    /// <summary>Claimed events not sent (the breaker opened, or stopping) go back as they were, not counted as attempts.</summary>
    private void PutBackReady()
    {
        lock (_readyGate)
        {
            while (_ready.TryDequeue(out var stored))
            {
                _done.Enqueue(new AttemptResult(stored.Id, stored.ConversationId, null, stored.NextAttemptAt, stored.LastError, PushedBack: true));
            }
        }
    }

    /// <summary>
    /// The room the clusters have now, summed (at least one each while none of its sends is in flight); one with no cluster
    /// configured, so an event whose route is gone is still tried (and fails with its reason) rather than never looked at.
    /// </summary>
    private int Room()
    {
        var (room, clusters) = (0, 0);
        foreach (var cluster in proxyState.GetClusters())
        {
            room += pacing.For(cluster.ClusterId).Free;
            clusters++;
        }

        return clusters == 0 ? 1 : room;
    }

    /// <summary>How many claimed events to keep waiting beyond the room: one window of each cluster.</summary>
    private int Window()
    {
        var window = 0;
        foreach (var cluster in proxyState.GetClusters())
        {
            window += pacing.For(cluster.ClusterId).Allowed;
        }

        return window;
    }

    private ClusterPace? PaceOf(StoredEvent stored) =>
        proxyState.TryGetRoute(stored.RouteId, out var route) && route.Cluster is { } cluster ? pacing.For(cluster.ClusterId) : null;

    private async Task SendAsync(StoredEvent stored, ClusterPace? pace, PaceTicket ticket, DeliveryOptions settings, CancellationToken cancellationToken)
    {
        // Off the claiming loop at once, so a slow start of one send never holds up the others.
        await Task.Yield();
        var (signal, latency) = (PaceSignal.Abandoned, TimeSpan.Zero);
        try
        {
            AttemptResult result;
            (result, signal, latency) = await DeliverAsync(stored, pace, settings, cancellationToken);
            _done.Enqueue(result);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Whatever went wrong, the event is put back for a later attempt, never left leased until its lease runs out.
            var now = time.GetUtcNow();
            _done.Enqueue(new AttemptResult(stored.Id, stored.ConversationId, null, now + Backoff.Next(settings.EffectiveRetrySchedule, stored.Attempts, null), ex.Message)
            {
                Attempt = new DeliveryAttempt(stored.Id, now, "retry", null, ex.Message, TimeSpan.Zero),
            });
        }
        finally
        {
            if (pace is not null)
            {
                pacing.Finished(pace, ticket, signal, latency);
            }

            Interlocked.Decrement(ref _inFlight);
            // The freed slot goes to the next claimed event now; the loop records this result and claims more.
            StartReady(settings, cancellationToken);
            Signal();
        }
    }

    private async Task<(AttemptResult Result, PaceSignal Signal, TimeSpan Latency)> DeliverAsync(StoredEvent stored, ClusterPace? pace, DeliveryOptions settings, CancellationToken cancellationToken)
    {
        using var activity = StartAttemptSpan(stored);
        var startedAt = time.GetUtcNow();
        var started = time.GetTimestamp();
        var (status, failure, retryAfter, pushedBack) = await ForwardAsync(stored, settings, cancellationToken);
        var latency = time.GetElapsedTime(started);
        health.OcpAnswered(failure is null);
        var signal = cancellationToken.IsCancellationRequested ? PaceSignal.Abandoned
            : failure is null ? PaceSignal.Took : pushedBack ? PaceSignal.PushedBack : PaceSignal.Failed;
        // A pushback slows the drain down; it says nothing about whether OCP® is failing, so the breaker does not count it.
        if (pace is not null && signal is PaceSignal.Took or PaceSignal.Failed)
        {
            breakers.Record(pace.Cluster, failure is null);
        }

        if (activity is not null)
        {
            activity.SetTag(GatewayTracing.Status, status);
            activity.SetTag(GatewayTracing.Outcome, failure is null ? (status is >= 200 and < 300 ? "delivered" : "rejected") : pushedBack ? "pushback" : "retry");
            if (failure is not null)
            {
                activity.SetStatus(ActivityStatusCode.Error, failure);
            }
        }

        if (failure is null)
        {
            var outcome = status is >= 200 and < 300 ? "delivered" : "rejected";
            metrics.DeliveryAttempted(outcome);
            DeliveryLog.Delivered(logger, stored.Id, stored.Attempts, outcome + " " + status);
            return (new AttemptResult(stored.Id, stored.ConversationId, status.ToString(System.Globalization.CultureInfo.InvariantCulture), default, null)
            {
                Attempt = new DeliveryAttempt(stored.Id, startedAt, outcome, status, null, latency),
            }, signal, latency);
        }

        if (pushedBack)
        {
            // OCP® asked for less: the event waits what it asked (Retry-After) and then goes first; no attempt is counted,
            // and no line per answer (the pace logs a rate).
            metrics.DeliveryAttempted("pushback");
            return (new AttemptResult(stored.Id, stored.ConversationId, null, time.GetUtcNow() + (retryAfter ?? settings.EffectiveRetrySchedule[0]),
                $"OCP® pushed back ({status}); retried first, not counted as an attempt", PushedBack: true), signal, latency);
        }

        var delay = Backoff.Next(settings.EffectiveRetrySchedule, stored.Attempts, retryAfter);
        metrics.DeliveryAttempted("retry");
        DeliveryLog.Retrying(logger, stored.Id, stored.Attempts, failure, Math.Round(delay.TotalSeconds, 1));
        return (new AttemptResult(stored.Id, stored.ConversationId, null, time.GetUtcNow() + delay, failure)
        {
            Attempt = new DeliveryAttempt(stored.Id, startedAt, "retry", status > 0 ? status : null, failure, latency),
        }, signal, latency);
    }

    /// <summary>
    /// A new trace per attempt (it runs long after the request's trace ended), linked to the request that
    /// parked the event; its forward is a child, so OCP® receives this trace's <c>traceparent</c>.
    /// </summary>
    private static Activity? StartAttemptSpan(StoredEvent stored)
    {
        if (!GatewayTracing.Source.HasListeners())
        {
            return null;
        }

        ActivityLink[]? links = stored.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var original) ? [new ActivityLink(original)] : null;
        var activity = GatewayTracing.Source.StartActivity("ocp.deliver", ActivityKind.Internal, parentContext: default, links: links);
        activity?.SetTag(GatewayTracing.Route, stored.RouteId);
        activity?.SetTag(GatewayTracing.EventType, stored.EventType);
        activity?.SetTag(GatewayTracing.ConversationId, stored.ConversationId);
        activity?.SetTag(GatewayTracing.DeliveryId, stored.Id);
        activity?.SetTag(GatewayTracing.Attempt, stored.Attempts);
        return activity;
    }

    /// <summary>Sends the stored bytes as the live request would have been sent: same route, transforms and client.</summary>
    private async Task<(int Status, string? Failure, TimeSpan? RetryAfter, bool PushedBack)> ForwardAsync(StoredEvent stored, DeliveryOptions settings, CancellationToken cancellationToken)
    {
        if (!proxyState.TryGetRoute(stored.RouteId, out var route) || route.Cluster?.Model is not { } cluster)
        {
            return (0, $"route '{stored.RouteId}' is no longer configured", null, false);
        }

        var destinations = route.Cluster.DestinationsState.AvailableDestinations;
        var all = route.Cluster.DestinationsState.AllDestinations;
        var destination = destinations.Count > 0 ? destinations[0] : all.Count > 0 ? all[0] : null;
        if (destination is null)
        {
            return (0, $"cluster '{route.Cluster.ClusterId}' has no destination", null, false);
        }

        await using var scope = services.CreateAsyncScope();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(settings.AttemptBudget);
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        var attempt = new ForwardAttempt(stored.IdempotencyKey);
        context.Features.Set(attempt);
        context.Features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = budget.Token });
        var (path, query) = SplitPath(stored.RequestPath);
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = path;
        context.Request.QueryString = query;
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = stored.Body.Length;
        context.Request.Body = new MemoryStream(stored.Body, writable: false);
        context.Response.Body = Stream.Null;
        using var body = BufferedBody.From(stored.Body);
        if (schemas.Current.TryGet(stored.EventType, out var schema))
        {
            context.Features.Set(new ValidatedEvent(schema, body));
        }

        var error = await forwarder.SendAsync(context, destination.Model.Config.Address, cluster.HttpClient,
            new ForwarderRequestConfig { ActivityTimeout = settings.AttemptBudget }, route.Transformer, budget.Token);
        var status = context.Response.StatusCode;
        if (attempt.Failure is { } failure)
        {
            return (status, failure, attempt.RetryAfter, attempt.PushedBack);
        }

        if (error != ForwarderError.None)
        {
            return (status, budget.IsCancellationRequested ? "no answer within the attempt budget" : "OCP® unreachable: " + error, null, false);
        }

        return ForwardAttempt.IsRetryable(status) ? (status, $"OCP® answered {status}", null, false) : (status, null, null, false);
    }

    private static (PathString Path, QueryString Query) SplitPath(string stored)
    {
        var question = stored.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? (new PathString(stored), QueryString.Empty) : (new PathString(stored[..question]), new QueryString(stored[question..]));
    }
}
