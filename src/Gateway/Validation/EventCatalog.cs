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

    private readonly EventSchema[] _all = [.. schemas.Values];

    public bool TryGet(string eventType, out EventSchema schema) => schemas.TryGetValue(eventType, out schema!);

    /// <summary>The schema whose event type equals the reader's current string token, compared as UTF-8.</summary>
    public EventSchema? Find(ref System.Text.Json.Utf8JsonReader reader)
    {
        foreach (var schema in _all)
        {
            if (reader.ValueTextEquals(schema.EventTypeUtf8))
            {
                return schema;
            }
        }

        return null;
    }
}
