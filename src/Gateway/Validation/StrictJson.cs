using System.Text.Json;
using System.Text.Unicode;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Parses a body as exactly one RFC 8259 JSON value: valid UTF-8, no BOM, comments or trailing
/// commas, at most <see cref="MaxDepth"/> levels, and no member name twice in one object (the
/// validator and OCP®'s parser could otherwise read different values).
/// </summary>
internal static class StrictJson
{
    /// <summary>Deeper documents are refused; Talkdesk events are four levels deep.</summary>
    public const int MaxDepth = 64;

    public static readonly JsonDocumentOptions Options = new() { MaxDepth = MaxDepth, AllowDuplicateProperties = false };

    public const string DuplicateMemberMessage = "The body has a duplicate member name; each name may appear once per object.";

    /// <summary>The parsed document, or null with the reason in <paramref name="error"/>.</summary>
    public static JsonDocument? TryParse(ReadOnlyMemory<byte> utf8, out string? error)
    {
        error = null;
        if (utf8.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            error = "The body is empty; it must be one JSON value.";
            return null;
        }

        if (!Utf8.IsValid(utf8.Span))
        {
            error = "The body is not valid UTF-8.";
            return null;
        }

        try
        {
            return JsonDocument.Parse(utf8, Options);
        }
        catch (JsonException ex)
        {
            error = ex.Message.StartsWith("Duplicate property", StringComparison.Ordinal)
                ? DuplicateMemberMessage
                : "The body is not valid JSON: " + ex.Message;
            return null;
        }
    }
}
