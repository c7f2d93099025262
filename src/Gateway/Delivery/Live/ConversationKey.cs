using System.Text.Json;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// What the delivery step reads from a (validated) event's top level, in one pass: its <c>conversation_id</c>,
/// the unit of ordering (an event type without one orders by itself: its own idempotency key stands in, so it
/// never waits for others), and its own <c>timestamp</c> as Unix milliseconds (0 when it has none), which
/// orders the key table and tells whether memory can answer for the key (<see cref="RecentKeys"/>).
/// </summary>
internal static class ConversationKey
{
    public static string Of(ReadOnlySpan<byte> body, string idempotencyKey) => Read(body, idempotencyKey).Conversation;

    /// <summary>The event's conversation (or its key's stand-in) and its timestamp in Unix ms (0 when it has none).</summary>
    public static (string Conversation, long EventAt) Read(ReadOnlySpan<byte> body, string idempotencyKey)
    {
        Scan(body, wantTime: true, out var conversation, out var eventAt);
        return (conversation ?? "event:" + idempotencyKey, eventAt);
    }

    /// <summary>The event's <c>conversation_id</c>, or null when it has none.</summary>
    public static string? Find(ReadOnlySpan<byte> body)
    {
        Scan(body, wantTime: false, out var conversation, out _);
        return conversation;
    }

    /// <summary>The event's <c>timestamp</c> in Unix ms, or 0 when it has none a reader can parse (a resend has the same bytes, so the same value).</summary>
    public static long TimeOf(ReadOnlySpan<byte> body)
    {
        Scan(body, wantTime: true, out _, out var eventAt);
        return eventAt;
    }

    private static void Scan(ReadOnlySpan<byte> body, bool wantTime, out string? conversation, out long eventAt)
    {
        conversation = null;
        eventAt = 0;
        try
        {
            ScanObject(body, wantTime, ref conversation, ref eventAt);
        }
        catch (JsonException)
        {
            // Not JSON (only a store's callers outside the live path, which validated it, pass such bytes): no facts.
        }
    }

    private static void ScanObject(ReadOnlySpan<byte> body, bool wantTime, ref string? conversation, ref long eventAt)
    {
        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }

        var timeFound = !wantTime;
        while ((conversation is null || !timeFound) && reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isConversation = conversation is null && reader.ValueTextEquals("conversation_id"u8);
            var isTime = !timeFound && reader.ValueTextEquals("timestamp"u8);
            reader.Read();
            if (isConversation && reader.TokenType == JsonTokenType.String)
            {
                conversation = reader.GetString()!;
            }
            else if (isTime)
            {
                timeFound = true;
                if (reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var time))
                {
                    eventAt = time.ToUnixTimeMilliseconds();
                }
            }

            reader.Skip();
        }
    }
}
