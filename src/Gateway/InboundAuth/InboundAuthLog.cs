namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>Log messages of inbound authentication. Never a credential.</summary>
internal static partial class InboundAuthLog
{
    [LoggerMessage(5001, LogLevel.Information, "Caller refused on route {RouteId}: {Reason}")]
    public static partial void Refused(ILogger logger, string routeId, string reason);

    [LoggerMessage(5002, LogLevel.Warning, "Inbound authentication method {Method} is None: anyone who can reach the gateway can post events to OCP® through the routes that use it")]
    public static partial void NoneConfigured(ILogger logger, string method);
}
