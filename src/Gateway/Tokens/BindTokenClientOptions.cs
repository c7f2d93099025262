using Microsoft.Extensions.Options;

namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>Binds the named <see cref="TokenClientOptions"/> "x" from <c>Gateway:TokenClients:x</c>.</summary>
internal sealed class BindTokenClientOptions(IConfiguration configuration) : IConfigureNamedOptions<TokenClientOptions>
{
    public void Configure(string? name, TokenClientOptions options) =>
        configuration.GetSection($"{TokenClientOptions.SectionName}:{name}").Bind(options);

    public void Configure(TokenClientOptions options) => Configure(Options.DefaultName, options);
}
