using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>Reads the accepted keys once per (re)load, never per request.</summary>
internal sealed class ApiKeyOptionsPostConfigure : IPostConfigureOptions<ApiKeyAuthenticationOptions>
{
    public void PostConfigure(string? name, ApiKeyAuthenticationOptions options) =>
        options.Keys = [.. options.ApiKeys.Where(k => k.Length > 0).Select(ConfiguredSecret.Of)];
}
