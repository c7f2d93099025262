using Yarp.ReverseProxy.Forwarder;

namespace OcpTalkdesk.Gateway.Proxy;

/// <summary>Log messages of the forwarding step.</summary>
internal static partial class ProxyLog
{
    [LoggerMessage(2001, LogLevel.Warning, "Forwarding on route {RouteId} failed: {Error}; answered {Status}")]
    public static partial void ForwardFailed(ILogger logger, string routeId, ForwarderError error, int status);
}
