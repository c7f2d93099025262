using System.Text.Json.Serialization;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>Source-generated JSON for the few shapes the validation step reads or writes itself.</summary>
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(ValidationReport))]
internal sealed partial class ValidationJsonContext : JsonSerializerContext
{
    /// <summary>For people reading a terminal: quotes and non-ASCII letters as they are, not \u-escaped.</summary>
    public static ValidationJsonContext Relaxed { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
