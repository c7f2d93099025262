using Microsoft.AspNetCore.Authentication;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>Options of <see cref="ApiKeyAuthenticationHandler"/>, bound from the method's section (reloadable).</summary>
public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The header carrying the key.</summary>
    public string HeaderName { get; set; } = "X-API-Key";

    /// <summary>The accepted keys.</summary>
    public List<string> ApiKeys { get; } = [];

    /// <summary>The accepted keys as compared (plain, or the <c>sha256:</c> hash given), built when the options are (re)built.</summary>
    internal IReadOnlyList<ConfiguredSecret> Keys { get; set; } = [];
}
