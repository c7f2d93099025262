using System.Text.Json.Serialization;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>One line of the <c>validate</c> command's output.</summary>
internal sealed record ValidationReport(
    [property: JsonPropertyName("valid")] bool Valid,
    [property: JsonPropertyName("errors"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SchemaViolation>? Errors = null,
    [property: JsonPropertyName("omittedErrors"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] int OmittedErrors = 0);
