namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>An event kept by the store: its exact bytes and where it stands.</summary>
internal sealed record StoredEvent(
    long Id,
    string IdempotencyKey,
    string ConversationId,
    string EventType,
    string RouteId,
    string RequestPath,
    byte[] Body,
    DateTimeOffset ReceivedAt,
    string State,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastError,
    string? TraceParent = null);
