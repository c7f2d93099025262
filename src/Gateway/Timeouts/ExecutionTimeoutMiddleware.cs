using Microsoft.AspNetCore.Http.Timeouts;
using OcpTalkdesk.Gateway.Metrics;
using OcpTalkdesk.Gateway.Problems;

namespace OcpTalkdesk.Gateway.Timeouts;

/// <summary>
/// Turns an expired execution timeout into 504 problem+json. ASP.NET Core's request-timeout
/// middleware cancels <see cref="HttpContext.RequestAborted"/>, which aborts the body read, the
/// token wait or the upstream call; YARP then reports the cancelled forward with its own status
/// (400 or 502, yarp#2662), and the body read throws. Both end here as a 504.
/// </summary>
internal sealed class ExecutionTimeoutMiddleware(RequestDelegate next, ProblemResponder problems, ILogger<ExecutionTimeoutMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var timeout = context.Features.Get<IHttpRequestTimeoutFeature>();
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (timeout?.RequestTimeoutToken.IsCancellationRequested == true)
        {
            // Handled below, like a cancelled forward.
        }

        if (timeout?.RequestTimeoutToken.IsCancellationRequested != true || context.Response.HasStarted)
        {
            return;
        }

        context.Features.Get<RequestTelemetry>()?.Set(Outcome.Timeout);
        TimeoutLog.TimedOut(logger, context.GetReverseProxyFeature().Route.Config.RouteId, ProblemResponder.CorrelationId(context));
        context.Response.Clear();
        await problems.WriteAsync(context, StatusCodes.Status504GatewayTimeout, ProblemTypes.UpstreamTimeout,
            "Execution timeout", "The event was not delivered within the gateway's execution timeout; OCP® may or may not have received it.");
    }
}
