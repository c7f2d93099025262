using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Timeouts;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Problems;

namespace OcpTalkdesk.Gateway.Proxy;

/// <summary>
/// Gives YARP's own error answers (an empty 502 or 504 when OCP® is unreachable, resets or times
/// out) a problem+json body, and keeps ASP.NET Core's status-code pages away from proxied answers,
/// which must reach Talkdesk exactly as OCP® sent them.
/// </summary>
internal sealed class UpstreamErrorMiddleware(RequestDelegate next, ProblemResponder problems, ILogger<UpstreamErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<IStatusCodePagesFeature>() is { } statusCodePages)
        {
            statusCodePages.Enabled = false;
        }

        await next(context);

        var error = context.GetForwarderErrorFeature();
        // An expired execution timeout is answered by the timeout step, which wraps this one.
        if (error is null || context.Response.HasStarted
            || context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested == true)
        {
            return;
        }

        context.Features.Get<RequestTelemetry>()?.Set(Outcome.UpstreamError);
        var routeId = context.GetReverseProxyFeature().Route.Config.RouteId;
        var traceId = ProblemResponder.CorrelationId(context);
        ProxyLog.ForwardFailed(logger, routeId, error.Error, Cause(error.Exception), context.Response.StatusCode, traceId);
        if (error.Exception is { } exception)
        {
            ProxyLog.ForwardFailedDetail(logger, routeId, traceId, exception);
        }

        if (context.Response.StatusCode == StatusCodes.Status504GatewayTimeout)
        {
            await problems.WriteAsync(context, StatusCodes.Status504GatewayTimeout, ProblemTypes.UpstreamTimeout,
                "Execution timeout", "The event was not delivered within the gateway's execution timeout; OCP® may or may not have received it.");
        }
        else if (context.Response.StatusCode >= StatusCodes.Status500InternalServerError)
        {
            await problems.WriteAsync(context, context.Response.StatusCode, ProblemTypes.UpstreamUnavailable,
                "OCP® unavailable", $"The event could not be delivered upstream ({error.Error}).");
        }
    }

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
