namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>The inbound methods configured at start-up (their schemes and policies are registered then).</summary>
internal sealed class InboundAuthMethods(IReadOnlyList<string> names)
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
}
