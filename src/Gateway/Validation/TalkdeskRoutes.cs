using Yarp.ReverseProxy.Configuration;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Which YARP routes carry Talkdesk actions: those whose route metadata has
/// <c>"TalkdeskActions": "true"</c>. Only those get the schema check.
/// </summary>
public static class TalkdeskRoutes
{
    /// <summary>The route metadata key that marks a Talkdesk action route.</summary>
    public const string MetadataKey = "TalkdeskActions";

    /// <summary>True when the route is marked as carrying Talkdesk actions.</summary>
    public static bool IsTalkdeskRoute(RouteConfig route) =>
        route.Metadata is { } metadata
        && metadata.TryGetValue(MetadataKey, out var value)
        && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
}
