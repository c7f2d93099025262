namespace OcpTalkdesk.Gateway.Configuration;

/// <summary>
/// <c>Gateway:ManagementPort</c>: serve <c>/metrics</c>, <c>/healthz</c> and <c>/readyz</c> only on this port,
/// so the Talkdesk-facing port never shows them. The port must also be one the server listens on
/// (for example <c>ASPNETCORE_HTTP_PORTS=8080;9090</c>). Default: unset, the same port as the events.
/// </summary>
public sealed class ManagementOptions
{
    /// <summary>The management port, or null for "the same port".</summary>
    public int? ManagementPort { get; set; }
}
