namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>The token clients configured at start-up (the children of <c>Gateway:TokenClients</c>).</summary>
internal sealed class TokenClientNames(IReadOnlyList<string> names)
{
    public IReadOnlyList<string> Names { get; } = names;

    public bool Contains(string name)
    {
        foreach (var candidate in Names)
        {
            if (string.Equals(candidate, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public static TokenClientNames From(IConfiguration configuration) =>
        new([.. configuration.GetSection(TokenClientOptions.SectionName).GetChildren().Select(c => c.Key)]);
}
