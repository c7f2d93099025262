using System.Text.Json.Serialization;

namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>What the admin API and the <c>deliveries list</c> command show of a stored event: never its body.</summary>
internal sealed record DeliveryView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("conversationId")] string ConversationId,
    [property: JsonPropertyName("eventType")] string EventType,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("attempts")] int Attempts,
    [property: JsonPropertyName("receivedAt")] DateTimeOffset ReceivedAt,
    [property: JsonPropertyName("nextAttemptAt")] DateTimeOffset NextAttemptAt,
    [property: JsonPropertyName("lastError")] string? LastError,
    [property: JsonPropertyName("idempotencyKey")] string IdempotencyKey)
{
    public static DeliveryView Of(StoredEvent stored) => new(
        stored.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), stored.ConversationId, stored.EventType, stored.State,
        stored.Attempts, stored.ReceivedAt, stored.NextAttemptAt, stored.LastError, stored.IdempotencyKey);
}

/// <summary>Source-generated JSON for the delivery admin answers.</summary>
[JsonSerializable(typeof(List<DeliveryView>))]
[JsonSerializable(typeof(DeliveryView))]
[JsonSerializable(typeof(DeliveryCountAnswer))]
[JsonSerializable(typeof(DeliveryErasedAnswer))]
internal sealed partial class DeliveryJsonContext : JsonSerializerContext;

/// <summary>The answer to a replay: how many events went back to pending.</summary>
internal sealed record DeliveryCountAnswer([property: JsonPropertyName("replayed")] int Replayed);

/// <summary>The answer to an erasure: how many stored events were removed (their keys went with them).</summary>
internal sealed record DeliveryErasedAnswer([property: JsonPropertyName("erased")] int Erased);
