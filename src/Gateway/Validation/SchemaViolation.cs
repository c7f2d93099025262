using System.Text.Json.Serialization;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>One way an event breaks its schema, as reported to the caller.</summary>
/// <param name="JsonPointer">JSON Pointer (RFC 6901) to the offending value, or to the missing member.</param>
/// <param name="Keyword">The JSON Schema keyword that failed (<c>required</c>, <c>type</c>, …).</param>
/// <param name="Message">A readable sentence for a person.</param>
public sealed record SchemaViolation(
    [property: JsonPropertyName("pointer")] string JsonPointer,
    [property: JsonPropertyName("keyword")] string Keyword,
    [property: JsonPropertyName("message")] string Message);
