using System.Text.Json;
using System.Text.Unicode;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// The first, allocation-free look at a body: System.Text.Json's reader checks it against RFC 8259
/// (no comments, trailing commas, single quotes, BOM or trailing data, which a lenient parser would let through
/// and OCP®'s parser might read differently), and on the way finds the top-level <c>event_type</c>.
/// </summary>
internal static class EventScanner
{
    private static ReadOnlySpan<byte> EventTypeName => "event_type"u8;

    /// <summary>
    /// Null when the bytes are one well-formed JSON object, else why not. <paramref name="schema"/> is
    /// the configured event type named once by a string <c>event_type</c>, else null (the slow path
    /// then explains what is wrong with it).
    /// </summary>
    public static string? Scan(ReadOnlySpan<byte> utf8, EventCatalog catalog, out EventSchema? schema)
    {
        schema = null;
        if (utf8.Trim(" \t\r\n"u8).IsEmpty)
        {
            return "The body is empty; it must be one JSON object.";
        }

        if (!Utf8.IsValid(utf8))
        {
            return "The body is not valid UTF-8.";
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = StrictJson.MaxDepth });
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return "The body must be one JSON object.";
            }

            var eventTypes = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isEventType = reader.ValueTextEquals(EventTypeName);
                reader.Read();
                if (isEventType && ++eventTypes == 1 && reader.TokenType == JsonTokenType.String)
                {
                    schema = catalog.Find(ref reader);
                }

                reader.Skip();
            }

            if (eventTypes > 1)
            {
                schema = null;
            }

            // Throws on anything but whitespace after the object.
            reader.Read();
            return null;
        }
        catch (JsonException ex)
        {
            schema = null;
            return "The body is not valid JSON: " + ex.Message;
        }
    }
}
