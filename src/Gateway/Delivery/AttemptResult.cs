namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>How one redelivery attempt ended: OCP®'s final answer (<see cref="Outcome"/>), or a retry at <see cref="NextAttempt"/>.</summary>
internal sealed record AttemptResult(long Id, string ConversationId, string? Outcome, DateTimeOffset NextAttempt, string? Error);
