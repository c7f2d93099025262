namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// One try at handing a kept event to OCP®, as the console's attempt history shows it: when it started, how it ended
/// (<c>delivered</c>, <c>rejected</c>, <c>retry</c>, <c>pushback</c>), OCP®'s status if it answered, the error if any,
/// and how long it took. Kept in a table of its own on both stores and removed with its event.
/// </summary>
internal sealed record DeliveryAttempt(long DeliveryId, DateTimeOffset At, string Outcome, int? Status, string? Error, TimeSpan Duration);
