using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>Hashes the accepted keys once per (re)load, never per request.</summary>
internal sealed class ApiKeyOptionsPostConfigure : IPostConfigureOptions<ApiKeyAuthenticationOptions>
{
    public void PostConfigure(string? name, ApiKeyAuthenticationOptions options) =>
        options.KeyHashes = [.. options.ApiKeys.Where(k => k.Length > 0).Select(SecretHash.OfConfigured)];
}
