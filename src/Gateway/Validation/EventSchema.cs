using Json.Schema;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>One accepted event type with its loaded and checked schema.</summary>
internal sealed class EventSchema(string eventType, string schemaFile, JsonSchema schema, SchemaNode? fastPath, PathString upstreamPath)
{
    public string EventType { get; } = eventType;

    /// <summary>The event type as UTF-8, to match a body's <c>event_type</c> without a string.</summary>
    public byte[] EventTypeUtf8 { get; } = System.Text.Encoding.UTF8.GetBytes(eventType);

    /// <summary>The schema, as JsonSchema.Net evaluates it.</summary>
    public JsonSchema Schema { get; } = schema;

    /// <summary>The fast path's form of the schema, or null when it uses a keyword outside the fast path's subset.</summary>
    public SchemaNode? FastPath { get; } = fastPath;

    public string SchemaFile { get; } = schemaFile;

    /// <summary>Where events of this type go on the destination; empty means the route decides.</summary>
    public PathString UpstreamPath { get; } = upstreamPath;
}
