using Yarp.ReverseProxy.Forwarder;

namespace OcpTalkdesk.Gateway.Outcomes;

/// <summary>Log messages of the outcome step: one line with the cause, the exception only at Debug.</summary>
internal static partial class OutcomeLog
{
    [LoggerMessage(2001, LogLevel.Warning, "Forwarding on route {RouteId} failed: {Error} ({Cause}); answered {Status} (traceId {TraceId})")]
    public static partial void ForwardFailed(ILogger logger, string routeId, ForwarderError error, string cause, int status, string traceId);

    [LoggerMessage(2002, LogLevel.Debug, "Forwarding on route {RouteId} failed (traceId {TraceId})")]
    public static partial void ForwardFailedDetail(ILogger logger, string routeId, string traceId, Exception exception);

    [LoggerMessage(2003, LogLevel.Error, "Unhandled failure on route {RouteId}; answered 500 (traceId {TraceId})")]
    public static partial void Unhandled(ILogger logger, string routeId, string traceId, Exception exception);

    [LoggerMessage(2004, LogLevel.Debug, "The caller hung up on route {RouteId} before the answer (traceId {TraceId})")]
    public static partial void CallerGone(ILogger logger, string routeId, string traceId);

    [LoggerMessage(4001, LogLevel.Warning, "Execution timeout on route {RouteId}; answered 504 (traceId {TraceId})")]
    public static partial void TimedOut(ILogger logger, string routeId, string traceId);
}
