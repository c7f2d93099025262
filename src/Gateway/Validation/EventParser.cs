using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Parses an event body strictly. System.Text.Json's reader checks the bytes against RFC 8259 first
/// (no comments, trailing commas, single quotes, BOM or trailing data, which Json.NET would let
/// through and OCP®'s parser might read differently); then Json.NET builds the tree NJsonSchema
/// validates, refusing duplicate member names for the same reason.
/// </summary>
internal static class EventParser
{
    /// <summary>Deeper documents are refused; Talkdesk events are four levels deep.</summary>
    internal const int MaxDepth = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly JsonLoadSettings LoadSettings = new()
    {
        DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error,
        LineInfoHandling = LineInfoHandling.Ignore,
    };

    /// <summary>The event as a JSON object, or null with the reason in <paramref name="error"/>.</summary>
    public static JObject? Parse(BufferedBody body, out string? error)
    {
        error = CheckSyntax(body.Span);
        if (error is not null)
        {
            return null;
        }

        using var text = new StreamReader(body.OpenRead(), StrictUtf8, detectEncodingFromByteOrderMarks: false);
        using var json = new JsonTextReader(text)
        {
            DateParseHandling = DateParseHandling.None,
            MaxDepth = MaxDepth,
        };
        try
        {
            return JObject.Load(json, LoadSettings);
        }
        catch (JsonReaderException ex)
        {
            error = ex.Message.StartsWith("Property with the name", StringComparison.Ordinal)
                ? "The body has a duplicate member name; each name may appear once per object."
                : "The body is not valid JSON: " + ex.Message;
            return null;
        }
    }

    /// <summary>Null when the bytes are one well-formed JSON object, else why not.</summary>
    internal static string? CheckSyntax(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Trim(" \t\r\n"u8).IsEmpty)
        {
            return "The body is empty; it must be one JSON object.";
        }

        if (!Utf8.IsValid(utf8))
        {
            return "The body is not valid UTF-8.";
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return "The body must be one JSON object.";
            }

            reader.Skip();
            // Throws on anything but whitespace after the object.
            reader.Read();
            return null;
        }
        catch (System.Text.Json.JsonException ex)
        {
            return "The body is not valid JSON: " + ex.Message;
        }
    }
}
