using System.Diagnostics;
using Microsoft.AspNetCore.Http.Timeouts;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Problems;
using OcpTalkdesk.Gateway.Tracing;
using Yarp.ReverseProxy.Model;

namespace OcpTalkdesk.Gateway.Outcomes;

/// <summary>
/// The one step that owns a proxied call's outcome. It wraps inbound auth and YARP's pipeline and, when
/// the call ends: answers an expired execution timeout with 504 problem+json (ASP.NET Core's request
/// timeout cancels <see cref="HttpContext.RequestAborted"/>; YARP then reports the cancelled forward with
/// its own status, yarp#2662, or the body read throws), gives YARP's own error answers (an empty 502 or
/// 504 when OCP® is unreachable, resets or times out) a problem+json body, and is the only writer of the
/// call's metrics and of the request span's route, event-type and outcome tags. An exception no step handled is
/// answered here too (500 problem+json, as ASP.NET Core's exception handler answers the other endpoints; it is not
/// on these routes, nor are status-code pages: docs/decisions/0010). Other endpoints (health, metrics) pass
/// straight through.
/// </summary>
internal sealed class OutcomeMiddleware(RequestDelegate next, GatewayMetrics metrics, ProblemResponder problems, ILogger<OutcomeMiddleware> logger)
{
    public Task InvokeAsync(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>() is { } route
            ? InvokeProxiedAsync(context, route.Config.RouteId)
            : next(context);

    private async Task InvokeProxiedAsync(HttpContext context, string route)
    {
        var call = new CallOutcome();
        context.Features.Set(call);

        var timeout = context.Features.Get<IHttpRequestTimeoutFeature>();
        var inFlight = metrics.InFlight(route);
        inFlight.Inc();
        var started = call.StartedAt;
        var completed = false;
        try
        {
            try
            {
                await next(context);
            }
            catch (OperationCanceledException) when (timeout?.RequestTimeoutToken.IsCancellationRequested == true)
            {
                // Answered below, like a cancelled forward.
            }
            catch (Exception exception) when (context.RequestAborted.IsCancellationRequested && exception is OperationCanceledException or IOException)
            {
                // The caller hung up (its body read or our write failed): nothing to answer. A Debug line and 499, as
                // ASP.NET Core's exception handler does for the other endpoints; counted as before (gateway_error).
                OutcomeLog.CallerGone(logger, route, ProblemResponder.CorrelationId(context));
                if (!context.Response.HasStarted)
                {
                    context.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
                }

                return;
            }
            catch (Exception exception) when (!context.Response.HasStarted)
            {
                // A bug in a step: logged with its stack trace and answered 500 (no detail to the caller), counted
                // as gateway_error. An answer already on its way goes on up as before.
                OutcomeLog.Unhandled(logger, route, ProblemResponder.CorrelationId(context), exception);
                context.Response.Clear();
                await problems.WriteAsync(context, StatusCodes.Status500InternalServerError, ProblemTypes.GatewayError,
                    "An error occurred while processing your request.", "The gateway failed while handling the event; see its log for this traceId.");
                call.Decide(Outcome.GatewayError);
                completed = true;
                return;
            }

            if (!context.Response.HasStarted)
            {
                await AnswerFailureAsync(context, route, call, timeout);
            }

            completed = true;
        }
        finally
        {
            inFlight.Dec();
            // An exception no step handled goes on to the exception handler, which answers 500.
            var status = completed || context.Response.HasStarted ? context.Response.StatusCode : StatusCodes.Status500InternalServerError;
            var outcome = completed ? call.Decided ?? Classify(context, status) : Outcome.GatewayError;
            if (GatewayTracing.RequestSpan(context) is { } activity)
            {
                activity.SetTag(GatewayTracing.Route, route);
                activity.SetTag(GatewayTracing.EventType, call.EventType);
                activity.SetTag(GatewayTracing.Outcome, MetricLabels.Of(outcome));
            }

            metrics.RequestCompleted(route, call.EventType, outcome, status, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>An expired execution timeout, else a failed forward, gets the gateway's own answer.</summary>
    private Task AnswerFailureAsync(HttpContext context, string route, CallOutcome call, IHttpRequestTimeoutFeature? timeout)
    {
        if (timeout?.RequestTimeoutToken.IsCancellationRequested == true)
        {
            call.Decide(Outcome.Timeout);
            OutcomeLog.TimedOut(logger, route, ProblemResponder.CorrelationId(context));
            context.Response.Clear();
            return WriteTimeoutAsync(context);
        }

        if (context.GetForwarderErrorFeature() is not { } error)
        {
            return Task.CompletedTask;
        }

        call.Decide(Outcome.UpstreamError);
        var traceId = ProblemResponder.CorrelationId(context);
        OutcomeLog.ForwardFailed(logger, route, error.Error, Cause(error.Exception), context.Response.StatusCode, traceId);
        if (error.Exception is { } exception)
        {
            OutcomeLog.ForwardFailedDetail(logger, route, traceId, exception);
        }

        return context.Response.StatusCode switch
        {
            StatusCodes.Status504GatewayTimeout => WriteTimeoutAsync(context),
            >= StatusCodes.Status500InternalServerError => problems.WriteAsync(context, context.Response.StatusCode, ProblemTypes.UpstreamUnavailable,
                "OCP® unavailable", $"The event could not be delivered upstream ({error.Error})."),
            _ => Task.CompletedTask,
        };
    }

    private Task WriteTimeoutAsync(HttpContext context) =>
        problems.WriteAsync(context, StatusCodes.Status504GatewayTimeout, ProblemTypes.UpstreamTimeout,
            "Execution timeout", "The event was not delivered within the gateway's execution timeout; OCP® may or may not have received it.");

    /// <summary>A call no step decided on: judged by its answer (a passed-back 401/403 counts as unauthorized).</summary>
    private static Outcome Classify(HttpContext context, int status) =>
        context.GetForwarderErrorFeature() is not null ? Outcome.UpstreamError
        : status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden ? Outcome.Unauthorized
        : Outcome.Forwarded;

    /// <summary>The innermost message: "Connection refused", not the wrappers around it.</summary>
    private static string Cause(Exception? exception)
    {
        if (exception is null)
        {
            return "no exception";
        }

        while (exception.InnerException is { } inner)
        {
            exception = inner;
        }

        return exception.Message;
    }
}
