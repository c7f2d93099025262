using System.Diagnostics;

namespace OcpTalkdesk.Gateway.Tracing;

/// <summary>
/// The gateway's own spans and the attributes that answer "did this conversation's message reach OCP®?".
/// Without a listener (tracing off, the default) <see cref="ActivitySource.StartActivity(string, ActivityKind)"/>
/// returns null and <see cref="Activity.Current"/> is null, so every call here costs a null check.
/// Attributes never carry message content, names, e-mail addresses, secrets or tokens.
/// </summary>
public static class GatewayTracing
{
    /// <summary>The gateway's <see cref="ActivitySource"/> name.</summary>
    public const string SourceName = "OcpTalkdesk.Gateway";

    /// <summary>YARP's own source (the forwarder's span).</summary>
    public const string YarpSourceName = "Yarp.ReverseProxy";

    /// <summary>The YARP route id.</summary>
    public const string Route = "ocp.route";

    /// <summary>The Talkdesk event type.</summary>
    public const string EventType = "ocp.event_type";

    /// <summary>Talkdesk's conversation id (an opaque id).</summary>
    public const string ConversationId = "ocp.conversation_id";

    /// <summary>How the gateway ended the call or step (<c>forwarded</c>, <c>queued</c>, <c>rejected_schema</c>, …).</summary>
    public const string Outcome = "ocp.outcome";

    /// <summary>The parked event's id in the delivery store.</summary>
    public const string DeliveryId = "ocp.delivery.id";

    /// <summary>The delivery attempt (1 is the live forward).</summary>
    public const string Attempt = "ocp.delivery.attempt";

    /// <summary>The token client.</summary>
    public const string TokenClient = "ocp.token_client";

    /// <summary>The HTTP status OCP® answered.</summary>
    public const string Status = "http.response.status_code";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>
    /// The call's request span (ASP.NET Core's), which carries the call's attributes whichever step knows
    /// them (inside YARP's pipeline <see cref="Activity.Current"/> is YARP's forwarder span); null when off.
    /// </summary>
    internal static Activity? RequestSpan(HttpContext context) =>
        context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()?.Activity is { IsAllDataRequested: true } activity ? activity : null;
}
