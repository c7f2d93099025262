namespace OcpTalkdesk.Gateway.InboundAuth;

/// <summary>The inbound methods configured at start-up (their schemes and policies are registered then).</summary>
internal sealed class InboundAuthMethods(IReadOnlyList<string> names)
{
    public IReadOnlyList<string> Names { get; } = names;

    /// <summary>Start-up and config-validation only, never per request.</summary>
    public bool Contains(string name) => Names.Contains(name, StringComparer.Ordinal);
}
