using System.Diagnostics;
using Microsoft.AspNetCore.Http.Timeouts;
using OcpTalkdesk.Gateway.Outcomes;

namespace OcpTalkdesk.Gateway.Metrics;

/// <summary>Innermost step of the proxy pipeline: times YARP's forward to OCP® and the relay of its answer.</summary>
internal sealed class UpstreamTimingMiddleware(RequestDelegate next, GatewayMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        await next(context);
        var call = context.Features.Get<CallOutcome>();
        // A transform that answered itself (no token) never reached OCP®, and a call cut by the
        // execution timeout has no upstream status (YARP reports its own, yarp#2662).
        if ((call is null || call.Decided is null)
            && context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested != true)
        {
            metrics.UpstreamCompleted(context.GetReverseProxyFeature().Route.Config.RouteId,
                call?.EventType ?? MetricLabels.UnknownEventType, context.Response.StatusCode, Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }
}
