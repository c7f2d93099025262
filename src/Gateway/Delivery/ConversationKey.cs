using System.Text.Json;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The top-level <c>conversation_id</c> of a (validated) event, the unit of ordering. An event type
/// without one orders by itself: its own idempotency key stands in, so it never waits for others.
/// </summary>
internal static class ConversationKey
{
    public static string Of(ReadOnlySpan<byte> body, string idempotencyKey) => Find(body) ?? "event:" + idempotencyKey;

    /// <summary>The event's <c>conversation_id</c>, or null when it has none.</summary>
    public static string? Find(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isConversation = reader.ValueTextEquals("conversation_id"u8);
            reader.Read();
            if (isConversation && reader.TokenType == JsonTokenType.String)
            {
                return reader.GetString()!;
            }

            reader.Skip();
        }

        return null;
    }
}
