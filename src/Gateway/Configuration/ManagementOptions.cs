namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>
/// <c>Gateway:ManagementPort</c>: <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> answer only on
/// this port, so the Talkdesk-facing port never shows them; the gateway listens on it beside the
/// event addresses. Default 9090; 0 serves them on every port (as before there was a default).
/// </summary>
public sealed class ManagementOptions
{
    /// <summary>The configuration section the port is read from.</summary>
    public const string SectionName = "Gateway";

    /// <summary>The management port unless configured.</summary>
    public const int DefaultPort = 9090;

    /// <summary>The management port, or 0 for "every port".</summary>
    public int ManagementPort { get; set; } = DefaultPort;
}
