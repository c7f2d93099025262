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
    string? TraceParent = null)
{
    /// <summary>Why the stored body could not be read (the body is then empty); null when it could.</summary>
    public UnprotectResult? Unreadable { get; init; }

    /// <summary>The id of the key the stored body is encrypted with; null for plaintext or no body.</summary>
    public string? KeyId { get; init; }

    /// <summary>OCP® pushed back on its last attempt (429, or 503 with <c>Retry-After</c>): it is claimed before the backlog.</summary>
    public bool RetryFirst { get; init; }

    /// <summary>When parking: the live forward that failed before the event was kept, for its attempt history; null when none was made.</summary>
    public DeliveryAttempt? LiveAttempt { get; init; }
}
