using System.Collections.Frozen;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// An immutable snapshot of what the gateway accepts: swapped whole on reload, so a request sees
/// either the old or the new configuration, never a mix.
/// </summary>
internal sealed class EventCatalog(FrozenDictionary<string, EventSchema> schemas, int maxEventBytes)
{
    public int MaxEventBytes { get; } = maxEventBytes;

    /// <summary>The accepted event_type values, for error messages.</summary>
    public IReadOnlyList<string> AcceptedEventTypes { get; } = [.. schemas.Keys.Order(StringComparer.Ordinal)];

    public bool TryGet(string eventType, out EventSchema schema) => schemas.TryGetValue(eventType, out schema!);
}
