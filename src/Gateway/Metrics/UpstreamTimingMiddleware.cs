using System.Diagnostics;
using Microsoft.AspNetCore.Http.Timeouts;

namespace OcpTalkdesk.Gateway.Metrics;

/// <summary>Innermost step of the proxy pipeline: times YARP's forward to OCP® and the relay of its answer.</summary>
internal sealed class UpstreamTimingMiddleware(RequestDelegate next, GatewayMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        await next(context);
        var telemetry = context.Features.Get<RequestTelemetry>();
        // A transform that answered itself (no token) never reached OCP®, and a call cut by the
        // execution timeout has no upstream status (YARP reports its own, yarp#2662).
        if ((telemetry is null || telemetry.Outcome is null)
            && context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested != true)
        {
            metrics.UpstreamCompleted(context.GetReverseProxyFeature().Route.Config.RouteId,
                telemetry?.EventType ?? MetricLabels.UnknownEventType, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
