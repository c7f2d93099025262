using Newtonsoft.Json.Linq;
using NJsonSchema;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>One accepted event type with its compiled schema.</summary>
internal sealed class EventSchema(string eventType, string schemaFile, JsonSchema schema, SchemaNode? compiled, PathString upstreamPath)
{
    public string EventType { get; } = eventType;

    /// <summary>The event type as UTF-8, to match a body's <c>event_type</c> without a string.</summary>
    public byte[] EventTypeUtf8 { get; } = System.Text.Encoding.UTF8.GetBytes(eventType);

    /// <summary>The fast path's form of the schema, or null when only NJsonSchema can check it.</summary>
    public SchemaNode? Compiled { get; } = compiled;

    public string SchemaFile { get; } = schemaFile;

    /// <summary>Where events of this type go on the destination; empty means the route decides.</summary>
    public PathString UpstreamPath { get; } = upstreamPath;

    /// <summary>Every violation of the schema, or an empty list when the event matches.</summary>
    public IReadOnlyList<SchemaViolation> Validate(JToken body)
    {
        var errors = schema.Validate(body);
        return errors.Count == 0 ? [] : ViolationMapper.Map(errors);
    }
}
