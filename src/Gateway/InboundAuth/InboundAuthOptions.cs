namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>
/// One inbound authentication method (<c>Gateway:InboundAuth:&lt;name&gt;</c>). A YARP route uses it by
/// naming it as its <c>AuthorizationPolicy</c>. Secrets (keys, passwords) belong in environment
/// variables or mounted files, never in appsettings.json.
/// </summary>
public sealed class InboundAuthOptions
{
    /// <summary>The configuration section holding one child per method.</summary>
    public const string SectionName = "Gateway:InboundAuth";

    /// <summary><c>ApiKey</c>, <c>Basic</c>, <c>Bearer</c> or <c>None</c> (accept anyone; logged as a warning). Required.</summary>
    public string? Type { get; set; }

    /// <summary>ApiKey: the header carrying the key. Default <c>X-API-Key</c>.</summary>
    public string HeaderName { get; set; } = "X-API-Key";

    /// <summary>ApiKey: the accepted keys; several, so a key can be rotated without downtime.</summary>
    public List<string> ApiKeys { get; } = [];

    /// <summary>Basic: user name → password, or <c>sha256:&lt;hex&gt;</c> of the password.</summary>
    public Dictionary<string, string> Users { get; } = new(StringComparer.Ordinal);

    /// <summary>Basic: accept credentials over plain HTTP (TLS ends in front of the gateway). Default false.</summary>
    public bool AllowInsecureProtocol { get; set; }

    /// <summary>Bearer: the issuer's base URL; its OpenID Connect metadata gives the signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>Bearer: the metadata document's URL, when not under <see cref="Authority"/>.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>Bearer: a JWKS URL, for issuers without OpenID Connect metadata.</summary>
    public string? JwksUri { get; set; }

    /// <summary>Bearer: the expected <c>iss</c>. Default: the metadata's issuer.</summary>
    public string? Issuer { get; set; }

    /// <summary>Bearer: the expected <c>aud</c>. Required for Bearer.</summary>
    public string? Audience { get; set; }

    /// <summary>Bearer: a scope the token must carry (in <c>scope</c> or <c>scp</c>); without it the call gets 403.</summary>
    public string? RequiredScope { get; set; }

    /// <summary>Bearer: tolerated clock difference. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Bearer: fetch metadata and keys over HTTPS only. Default true.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>
    /// Optional source allow-list (CIDR, e.g. <c>203.0.113.0/24</c>); others get 403. Whether a method
    /// has a list is read at start-up; the ranges themselves reload.
    /// </summary>
    public List<string> AllowedNetworks { get; } = [];
}
