using Microsoft.AspNetCore.Authentication;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>Options of <see cref="ApiKeyAuthenticationHandler"/>, bound from the method's section (reloadable).</summary>
public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>The header carrying the key.</summary>
    public string HeaderName { get; set; } = "X-API-Key";

    /// <summary>The accepted keys.</summary>
    public List<string> ApiKeys { get; } = [];

    /// <summary>SHA-256 of each accepted key, computed when the options are (re)built.</summary>
    internal IReadOnlyList<byte[]> KeyHashes { get; set; } = [];
}
