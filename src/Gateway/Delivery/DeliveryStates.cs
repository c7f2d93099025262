namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>The states of a stored event, as written in the store.</summary>
internal static class DeliveryStates
{
    /// <summary>Waiting for its next attempt (or for the events of its conversation ahead of it).</summary>
    public const string Pending = "pending";

    /// <summary>Claimed by one replica, which is delivering it until its lease runs out.</summary>
    public const string Leased = "leased";

    /// <summary>OCP® took it (2xx) or gave its final word (a 4xx other than 408, 425, 429).</summary>
    public const string Delivered = "delivered";

    /// <summary>Not delivered within MaxAge, or behind such an event: kept in order until replayed or discarded.</summary>
    public const string Dead = "dead";

    /// <summary>The error of an event kept dead behind an earlier dead-lettered event of its conversation.</summary>
    public const string BehindDeadLetter = "behind a dead-lettered event";

    /// <summary>Discarded by an operator.</summary>
    public const string Discarded = "discarded";

    /// <summary>A dead letter past <c>DeadLetterRetention</c>: its body is gone, the row stays as a tombstone.</summary>
    public const string Expired = "expired";

    /// <summary>
    /// Not delivered within its event type's <c>ExpireAfter</c> (too late to be of use in a chat): kept and replayable
    /// like a dead letter, but not blocking its conversation, which goes on.
    /// </summary>
    public const string Stale = "stale";

    /// <summary>Every state, in the order people read them (held first).</summary>
    public static readonly IReadOnlyList<string> All = [Pending, Leased, Dead, Stale, Delivered, Discarded, Expired];

    public static bool IsKnown(string state) => state is Pending or Leased or Delivered or Dead or Discarded or Expired or Stale;
}
