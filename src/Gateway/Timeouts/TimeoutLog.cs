namespace OcpTalkdesk.Gateway.Timeouts;

/// <summary>Log messages of the execution timeout.</summary>
internal static partial class TimeoutLog
{
    [LoggerMessage(4001, LogLevel.Warning, "Execution timeout on route {RouteId}; answered 504 (traceId {TraceId})")]
    public static partial void TimedOut(ILogger logger, string routeId, string traceId);
}
