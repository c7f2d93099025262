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
        ICollection<NJsonSchema.Validation.ValidationError> errors;
        try
        {
            errors = schema.Validate(body);
        }
        catch (Exception ex) when (ex is InvalidCastException or OverflowException or FormatException)
        {
            // NJsonSchema cannot check some extreme values (an integer beyond 64 bits throws);
            // such an event is refused rather than forwarded unchecked.
            return [new SchemaViolation(string.Empty, "type", "The event holds a value the schema check cannot read (such as a number beyond 64-bit range).")];
        }

        return errors.Count == 0 ? [] : ViolationMapper.Map(errors);
    }
}
