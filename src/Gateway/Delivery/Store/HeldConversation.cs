namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>A conversation with held events, as the console lists it: how many, and where its head stands.</summary>
internal sealed record HeldConversation(
    string ConversationId,
    long Held,
    long HeadId,
    string HeadEventType,
    string HeadState,
    int HeadAttempts,
    DateTimeOffset NextAttemptAt,
    string? LastError,
    DateTimeOffset ReceivedAt);
