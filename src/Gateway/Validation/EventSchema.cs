using Newtonsoft.Json.Linq;
using NJsonSchema;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>One accepted event type with its compiled schema.</summary>
internal sealed class EventSchema(string eventType, string schemaFile, JsonSchema schema, PathString upstreamPath)
{
    public string EventType { get; } = eventType;

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
