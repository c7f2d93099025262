namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>The token clients configured at start-up (the children of <c>Gateway:TokenClients</c>).</summary>
internal sealed class TokenClientNames(IReadOnlyList<string> names)
{
    public IReadOnlyList<string> Names { get; } = names;

    /// <summary>Start-up and config-validation only, never per request.</summary>
    public bool Contains(string name) => Names.Contains(name, StringComparer.Ordinal);

    public static TokenClientNames From(IConfiguration configuration) =>
        new([.. configuration.GetSection(TokenClientOptions.SectionName).GetChildren().Select(c => c.Key)]);
}
