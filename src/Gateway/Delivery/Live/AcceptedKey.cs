namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// The key of an event OCP® took directly, with its answer's status, the event's own timestamp (Unix ms, 0 when
/// it has none; it orders the key table, so writes append) and when it was accepted. <see cref="Remembered"/>: the store's
/// memory already holds it (<see cref="IDeliveryStore.Remember"/> said so), so writing it need not put it there again.
/// </summary>
internal readonly record struct AcceptedKey(string Key, long EventAt, int Status, DateTimeOffset At, bool Remembered = false);
