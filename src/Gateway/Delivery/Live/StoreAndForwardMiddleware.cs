using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Outcomes;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Timeouts;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Store-and-forward on a Talkdesk route, after the schema step: answers a resend as before; parks an
/// event behind its conversation's waiting ones; otherwise forwards it at once within
/// <see cref="DeliveryOptions.AttemptBudget"/> and, when OCP® cannot take it (no connection, 408, 425,
/// 429, 5xx, no token, no answer in time), commits it to the store and answers 202. A 202 is only sent
/// after the commit; when the store fails too, Talkdesk gets 503.
/// </summary>
internal sealed class StoreAndForwardMiddleware(RequestDelegate next, IDeliveryStore store, GroupCommit parks, AcceptedKeyWriter keys,
    IOptionsMonitor<DeliveryOptions> options, IOptionsMonitor<ExecutionTimeoutOptions> timeouts, StoreHealth health, OcpBreakers breakers,
    RedeliveryPacing pacing, ProblemResponder problems, GatewayMetrics metrics, TimeProvider time, ILogger<StoreAndForwardMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<ValidatedEvent>() is not { } validated)
        {
            await next(context);
            return;
        }

        var settings = options.CurrentValue;
        var key = IdempotencyKey.Of(validated.Body.Span);
        var (conversation, eventAt) = ConversationKey.Read(validated.Body.Span, key);
        var now = time.GetUtcNow();
        var proxy = context.GetReverseProxyFeature();
        var cluster = proxy.Cluster.Config.ClusterId;
        // OCP® known to be failing: the event is parked whatever its conversation holds (the store keeps it behind a
        // dead-lettered one itself), so only its key needs asking: from a store's memory of recent keys, else by the park
        // itself, in its batch (no read of its own: the read was 43 of the 190 µs a parked event cost on SQLite, and
        // a round trip per event on PostgreSQL, bench/park.sh).
        var parkedAnyway = !breakers.IsClosed(cluster);
        string? blocking = null;
        try
        {
            var earlier = keys.Find(key);
            if (earlier is null && parkedAnyway)
            {
                // Memory's answer when it has one; otherwise the park looks (it always does, ParkAsync).
                store.TryRecallKey(key, eventAt, now - settings.DedupWindow, out earlier);
            }
            else if (earlier is null)
            {
                (earlier, blocking) = await store.LookupAsync(key, eventAt, now - settings.DedupWindow, conversation, CancellationToken.None);
            }

            if (earlier is { } answered)
            {
                await AnswerDuplicateAsync(context, answered.Status, answered.Id);
                return;
            }

            // No success reported here: on SQLite a lookup is often answered from memory, which says nothing about
            // the store (the park, the worker, the key writer and the health check report it).
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            // Without the store the event can still go straight to OCP®; only parking needs it.
            StoreFailed("lookup", ex);
        }

        if (blocking is not null)
        {
            await ParkAsync(context, validated, key, conversation, blocking, "an earlier event of its conversation is waiting", null, attempted: false, settings);
            return;
        }

        // OCP® known to be failing: parked at once (202 in milliseconds) instead of waiting the attempt budget;
        // the redelivery worker probes and closes the breaker.
        if (parkedAnyway)
        {
            await ParkAsync(context, validated, key, conversation, DeliveryStates.Pending, "OCP® is failing (circuit open)", null, attempted: false, settings,
                conversationUnread: true);
            return;
        }

        // The budget adapts: never longer than what is left of this call's execution timeout, less the time to park and
        // answer, so a slow start (a slow client, a token renewal) still ends in a 202 rather than Talkdesk's timeout.
        var left = (proxy.Route.Config.Timeout ?? timeouts.CurrentValue.ExecutionTimeout) - settings.AnswerMargin
            - (context.Features.Get<CallOutcome>() is { } call ? System.Diagnostics.Stopwatch.GetElapsedTime(call.StartedAt) : TimeSpan.Zero);
        var attemptBudget = left < settings.AttemptBudget ? left : settings.AttemptBudget;
        if (attemptBudget <= TimeSpan.Zero)
        {
            await ParkAsync(context, validated, key, conversation, DeliveryStates.Pending, "no time left to try OCP® within the execution timeout", null, attempted: false, settings);
            return;
        }

        var attempt = new ForwardAttempt(key);
        context.Features.Set(attempt);
        var lifetime = context.Features.Get<IHttpRequestLifetimeFeature>();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        budget.CancelAfter(attemptBudget);
        context.Features.Set<IHttpRequestLifetimeFeature>(new BudgetLifetime(lifetime, budget.Token));
        // Counted against the drain's pace, so redelivery yields to live events.
        var pace = pacing.For(cluster);
        var ticket = pace.LiveStarted();
        var forwardStarted = time.GetTimestamp();
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (budget.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            attempt.Fail(NoAnswer(attemptBudget));
        }
        finally
        {
            pace.LiveEnded();
            context.Features.Set(lifetime);
        }

        var forwardError = context.GetForwarderErrorFeature();
        if (budget.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
        {
            attempt.Fail(NoAnswer(attemptBudget));
        }
        else if (forwardError is not null)
        {
            // A caller that hangs up mid-forward (Talkdesk's own timeout) leaves an event OCP® may or may not have
            // received: kept, so it is not lost; Talkdesk's resend then gets the 202 and id.
            attempt.Fail(context.RequestAborted.IsCancellationRequested
                ? "the caller hung up before OCP® answered"
                : "OCP® unreachable: " + forwardError.Error);
        }

        health.OcpAnswered(attempt.Failure is null);
        if (attempt.PushedBack)
        {
            // OCP® asked for less: the drain slows down; the breaker counts only OCP® failing.
            pacing.LivePushedBack(pace, ticket);
        }
        else if (!context.RequestAborted.IsCancellationRequested)
        {
            // A caller that hung up says nothing about OCP®.
            breakers.Record(cluster, attempt.Failure is null);
        }

        if (attempt.Failure is { } failure && !context.Response.HasStarted)
        {
            // The failed forward is the event's first attempt (a pushback is not one): kept in its history.
            var tried = attempt.PushedBack ? null : new DeliveryAttempt(0, now, "retry", context.Response.StatusCode is var status and >= 300 ? status : null,
                failure, time.GetElapsedTime(forwardStarted));
            await ParkAsync(context, validated, key, conversation, DeliveryStates.Pending, failure, attempt.RetryAfter, attempted: true, settings, attempt.PushedBack, tried);
            return;
        }

        if (attempt.Failure is null && context.Response.StatusCode is >= 200 and < 500)
        {
            keys.Add(key, eventAt, context.Response.StatusCode, now);
        }
    }

    private static string NoAnswer(TimeSpan budget) => $"no answer within the attempt budget ({budget.TotalSeconds:0.###} s)";

    private async Task ParkAsync(HttpContext context, ValidatedEvent validated, string key, string conversation, string blocking,
        string reason, TimeSpan? retryAfter, bool attempted, DeliveryOptions settings, bool pushedBack = false, DeliveryAttempt? tried = null,
        bool conversationUnread = false)
    {
        var now = time.GetUtcNow();
        // Pushed back: what OCP® asked for (or the schedule's first step), then first in line, and not counted as an attempt.
        var delay = pushedBack ? retryAfter ?? settings.EffectiveRetrySchedule[0]
            : attempted ? Backoff.Next(settings.EffectiveRetrySchedule, 1, retryAfter) : TimeSpan.Zero;
        var parked = new StoredEvent(0, key, conversation, validated.Schema.EventType, context.GetReverseProxyFeature().Route.Config.RouteId,
            context.Request.Path + context.Request.QueryString, validated.Body.Memory.ToArray(), now,
            blocking, attempted && !pushedBack ? 1 : 0, now + delay, blocking == DeliveryStates.Dead ? DeliveryStates.BehindDeadLetter : reason,
            // With tracing on, the later delivery attempts link back to this request's trace.
            System.Diagnostics.Activity.Current?.Id)
        {
            RetryFirst = pushedBack,
            LiveAttempt = tried,
        };
        ClearForwardOutcome(context);
        // The key checked again in the park's own transaction: a resend that arrived while this event's first copy was
        // still being parked (here or on another replica, whose conversation lock the park waits for) is answered from it
        // rather than kept twice; with OCP® failing it is the only look at the key where the store keeps no memory of keys.
        if (!parks.TryPark(new ParkRequest(parked, blocking, conversationUnread, now - settings.DedupWindow), out var committed))
        {
            // Parking cannot keep up: refused at once rather than queued without limit, and never a 202 for an event not
            // committed. Talkdesk's flow takes its error exit (or retries) instead of waiting out its timeout.
            context.Features.Get<CallOutcome>()?.Decide(Outcome.StoreBusy);
            context.Response.Headers.RetryAfter = "1";
            await problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemTypes.DeliveryStoreBusy,
                "Event could be neither delivered nor kept now",
                $"OCP® did not take the event ({reason}) and the delivery store already has {settings.MaxWaitingParks} events waiting to be kept; it was not kept. Send it again shortly.");
            return;
        }

        ParkResult result;
        try
        {
            // Committed before the answer, in a batch with the parks that arrived meanwhile (group commit); the commit
            // does not depend on the caller, so one that hangs up cannot undo it.
            result = await committed;
            health.Succeeded();
        }
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            StoreFailed("park", ex);
            context.Features.Get<CallOutcome>()?.Decide(Outcome.StoreUnavailable);
            await problems.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemTypes.DeliveryStoreUnavailable,
                "Event could be neither delivered nor kept",
                $"OCP® did not take the event ({reason}) and the delivery store failed; it was not kept. Send it again.");
            return;
        }

        if (result.Earlier is { } answered)
        {
            // A resend the park found by its key: not kept again, answered as before.
            await AnswerDuplicateAsync(context, answered.Status, answered.Id);
            return;
        }

        var id = result.Id;
        metrics.Parked(validated.Schema.EventType);
        context.Features.Get<CallOutcome>()?.Decide(Outcome.Queued);
        Tracing.GatewayTracing.RequestSpan(context)?.SetTag(Tracing.GatewayTracing.DeliveryId, id);
        DeliveryLog.Parked(logger, id, reason, ProblemResponder.CorrelationId(context));
        await WriteJsonAsync(context, StatusCodes.Status202Accepted, "queued", id);
    }

    private static Task AnswerDuplicateAsync(HttpContext context, int status, long? id)
    {
        context.Features.Get<CallOutcome>()?.Decide(Outcome.Duplicate);
        return WriteJsonAsync(context, status, id is null ? "delivered" : "queued", id);
    }

    /// <summary>Forgets YARP's failed forward (status, headers, error) so the gateway's own answer stands alone.</summary>
    private static void ClearForwardOutcome(HttpContext context)
    {
        if (!context.Response.HasStarted)
        {
            context.Response.Clear();
        }

        context.Features.Set<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>(null);
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, string state, long? id)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(context.Response.Body);
        writer.WriteStartObject();
        writer.WriteString("status", state);
        if (id is { } value)
        {
            writer.WriteString("id", value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        writer.WriteEndObject();
    }

    private void StoreFailed(string operation, Exception exception)
    {
        health.Failed(operation, exception);
        metrics.StoreFailed();
    }

    internal static bool IsStoreFailure(Exception exception) =>
        exception is System.Data.Common.DbException or InvalidOperationException or IOException or TimeoutException;

    /// <summary>The request's lifetime with the attempt budget's token, so YARP gives up on OCP® in time.</summary>
    private sealed class BudgetLifetime(IHttpRequestLifetimeFeature? inner, CancellationToken token) : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get; set; } = token;

        public void Abort() => inner?.Abort();
    }
}
