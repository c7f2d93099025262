namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// How one redelivery attempt ended: OCP®'s final answer (<see cref="Outcome"/>), or a retry at <see cref="NextAttempt"/>;
/// <see cref="PushedBack"/> when OCP® asked the gateway to slow down (the attempt is not counted and the event goes first).
/// </summary>
internal sealed record AttemptResult(long Id, string ConversationId, string? Outcome, DateTimeOffset NextAttempt, string? Error, bool PushedBack = false)
{
    /// <summary>The try itself, for the attempt history; null when none was made (a claimed event put back unsent).</summary>
    public DeliveryAttempt? Attempt { get; init; }
}
