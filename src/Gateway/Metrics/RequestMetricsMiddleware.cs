using System.Diagnostics;
using OcpTalkdesk.Gateway.Tracing;

namespace OcpTalkdesk.Gateway.Metrics;

/// <summary>Outermost step of the proxy pipeline: counts and times every call by route, event type and outcome.</summary>
internal sealed class RequestMetricsMiddleware(RequestDelegate next, GatewayMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var telemetry = new RequestTelemetry();
        context.Features.Set(telemetry);
        var route = context.GetReverseProxyFeature().Route.Config.RouteId;
        var inFlight = metrics.InFlight(route);
        inFlight.Inc();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            inFlight.Dec();
            var status = context.Response.StatusCode;
            var outcome = telemetry.Outcome ?? Classify(context, status);
            // The request's span (tracing on): what an operator searches by.
            if (Activity.Current is { IsAllDataRequested: true } activity)
            {
                activity.SetTag(GatewayTracing.Route, route);
                activity.SetTag(GatewayTracing.EventType, telemetry.EventType);
                activity.SetTag(GatewayTracing.Outcome, MetricLabels.Of(outcome));
            }

            metrics.RequestCompleted(route, telemetry.EventType, outcome, status, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    private static Outcome Classify(HttpContext context, int status) =>
        context.GetForwarderErrorFeature() is not null ? Outcome.UpstreamError
        : status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden ? Outcome.Unauthorized
        : Outcome.Forwarded;
}
