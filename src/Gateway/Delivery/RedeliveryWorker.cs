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
/// Delivers parked events: claims the due head of each conversation (a lease, so one replica at a
/// time), forwards it through YARP's own forwarder with the route's transforms (the same token,
/// <c>Idempotency-Key</c> and path as a live event), and completes, reschedules with backoff, or
/// dead-letters it after <see cref="DeliveryOptions.MaxAge"/>. Also keeps the queue metrics and prunes.
/// </summary>
internal sealed class RedeliveryWorker(IDeliveryStore store, IHttpForwarder forwarder, IProxyStateLookup proxyState,
    SchemaRegistry schemas, IOptionsMonitor<DeliveryOptions> options, StoreHealth health, OcpBreakers breakers, GatewayMetrics metrics,
    IServiceProvider services, TimeProvider time, ILogger<RedeliveryWorker> logger) : BackgroundService
{
    private const int ClaimBatch = 128;
    private static readonly TimeSpan HousekeepingEvery = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(10);
    private readonly string _owner = Environment.MachineName + "/" + Environment.ProcessId + "/" + Guid.NewGuid().ToString("N")[..8];
    private CancellationTokenSource? _wake;
    private DateTimeOffset _lastPrune;
    private DateTimeOffset _lastHousekeeping;

    /// <summary>Asks the worker to look for due events now (after an operator's replay).</summary>
    public void Wake()
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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.EnableDelivery();
        while (!stoppingToken.IsCancellationRequested)
        {
            var settings = options.CurrentValue;
            var progressed = false;
            try
            {
                progressed = await RunOnceAsync(settings, stoppingToken);
                health.Succeeded();
            }
            catch (Exception ex) when (StoreAndForwardMiddleware.IsStoreFailure(ex))
            {
                health.Failed("redelivery", ex);
                metrics.StoreFailed();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            // Straight on while events are being delivered (each may make its conversation's next one due);
            // a round that only retried waits, so an OCP® outage is not a busy loop over the same heads.
            if (!progressed)
            {
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                Volatile.Write(ref _wake, wake);
                try
                {
                    await Task.Delay(settings.PollInterval, time, wake.Token);
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Woken early: an operator replayed events.
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                finally
                {
                    Volatile.Write(ref _wake, null);
                }
            }
        }
    }

    /// <summary>
    /// One round: dead-letter what is too old, deliver what is due, refresh the metrics, prune. True when
    /// there may be more to do at once: a full batch was claimed, or an event was delivered.
    /// </summary>
    private readonly HashSet<string> _reportedMissingKeys = new(StringComparer.Ordinal);

    internal async Task<bool> RunOnceAsync(DeliveryOptions settings, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        // Dead letters and the queue metrics once a second, not on every round of a busy drain.
        var housekeeping = now - _lastHousekeeping >= HousekeepingEvery;
        if (housekeeping)
        {
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
        }

        // With a cluster's breaker open, nothing is claimed until its break has run out; then one event is the probe.
        var open = breakers.AnyOpen(out var openCluster);
        var events = open && !breakers.MayProbe(openCluster, now)
            ? []
            : await store.ClaimAsync(_owner, now, settings.LeaseDuration, open ? 1 : ClaimBatch, cancellationToken);
        // One per conversation, so they may go in parallel: order within a conversation is the store's.
        var results = new System.Collections.Concurrent.ConcurrentBag<AttemptResult>();
        await Parallel.ForEachAsync(events, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken },
            async (stored, token) => results.Add(await DeliverAsync(stored, settings, token)));
        // Recorded even when stopping: OCP® has answered, the store must know.
        await store.FinishAsync(_owner, [.. results], time.GetUtcNow(), CancellationToken.None);

        if (housekeeping)
        {
            var (counts, oldest) = await store.StatsAsync(cancellationToken);
            metrics.QueueObserved(counts, oldest is { } received ? Math.Max(0, (time.GetUtcNow() - received).TotalSeconds) : 0);
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
            if (store is SqlDeliveryStore sql)
            {
                metrics.BodiesRejected(sql.RejectedBodies);
            }
        }

        if (now - _lastPrune > PruneEvery)
        {
            _lastPrune = now;
            await store.PruneAsync(now - settings.DedupWindow, cancellationToken);
            var expired = await store.ExpireDeadLettersAsync(now - settings.DeadLetterRetention, cancellationToken);
            if (expired > 0)
            {
                metrics.DeadLettersExpired(expired);
                DeliveryLog.DeadLettersExpired(logger, expired, settings.DeadLetterRetention);
            }
        }

        return events.Count == ClaimBatch || results.Any(r => r.Outcome is not null);
    }

    private async Task<AttemptResult> DeliverAsync(StoredEvent stored, DeliveryOptions settings, CancellationToken cancellationToken)
    {
        using var activity = StartAttemptSpan(stored);
        var (status, failure, retryAfter) = await ForwardAsync(stored, settings, cancellationToken);
        health.OcpAnswered(failure is null);
        if (proxyState.TryGetRoute(stored.RouteId, out var route) && route.Cluster is { } cluster && !cancellationToken.IsCancellationRequested)
        {
            breakers.Record(cluster.ClusterId, failure is null);
        }

        if (activity is not null)
        {
            activity.SetTag(GatewayTracing.Status, status);
            activity.SetTag(GatewayTracing.Outcome, failure is null ? (status is >= 200 and < 300 ? "delivered" : "rejected") : "retry");
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
            return new AttemptResult(stored.Id, stored.ConversationId, status.ToString(System.Globalization.CultureInfo.InvariantCulture), default, null);
        }

        var delay = Backoff.Next(settings.EffectiveRetrySchedule, stored.Attempts, retryAfter);
        metrics.DeliveryAttempted("retry");
        DeliveryLog.Retrying(logger, stored.Id, stored.Attempts, failure, Math.Round(delay.TotalSeconds, 1));
        return new AttemptResult(stored.Id, stored.ConversationId, null, time.GetUtcNow() + delay, failure);
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
    private async Task<(int Status, string? Failure, TimeSpan? RetryAfter)> ForwardAsync(StoredEvent stored, DeliveryOptions settings, CancellationToken cancellationToken)
    {
        if (!proxyState.TryGetRoute(stored.RouteId, out var route) || route.Cluster?.Model is not { } cluster)
        {
            return (0, $"route '{stored.RouteId}' is no longer configured", null);
        }

        var destinations = route.Cluster.DestinationsState.AvailableDestinations;
        var all = route.Cluster.DestinationsState.AllDestinations;
        var destination = destinations.Count > 0 ? destinations[0] : all.Count > 0 ? all[0] : null;
        if (destination is null)
        {
            return (0, $"cluster '{route.Cluster.ClusterId}' has no destination", null);
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
            return (status, failure, attempt.RetryAfter);
        }

        if (error != ForwarderError.None)
        {
            return (status, budget.IsCancellationRequested ? "no answer within the attempt budget" : "OCP® unreachable: " + error, null);
        }

        return ForwardAttempt.IsRetryable(status) ? (status, $"OCP® answered {status}", null) : (status, null, null);
    }

    private static (PathString Path, QueryString Query) SplitPath(string stored)
    {
        var question = stored.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? (new PathString(stored), QueryString.Empty) : (new PathString(stored[..question]), new QueryString(stored[question..]));
    }
}
