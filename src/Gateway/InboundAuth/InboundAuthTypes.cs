namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>The values of <see cref="InboundAuthOptions.Type"/>.</summary>
public static class InboundAuthTypes
{
    /// <summary>A key in a request header (Talkdesk's "X-API-Key" connection).</summary>
    public const string ApiKey = "ApiKey";

    /// <summary>HTTP Basic user name and password (Talkdesk's "Basic" connection).</summary>
    public const string Basic = "Basic";

    /// <summary>A JWT from the operator's identity provider (Talkdesk's OAuth2 client-credentials connections).</summary>
    public const string Bearer = "Bearer";

    /// <summary>No authentication: only when stated explicitly.</summary>
    public const string None = "None";

    /// <summary>The authentication scheme registered for a method.</summary>
    public static string SchemeOf(string method) => SchemePrefix + method;

    /// <summary>The method an authentication scheme belongs to (the inverse of <see cref="SchemeOf"/>).</summary>
    public static string MethodOf(string scheme) => scheme.StartsWith(SchemePrefix, StringComparison.Ordinal) ? scheme[SchemePrefix.Length..] : scheme;

    private const string SchemePrefix = "inbound-";
}
