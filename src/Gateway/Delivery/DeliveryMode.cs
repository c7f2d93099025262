namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>What the gateway does when OCP® cannot take an event.</summary>
public enum DeliveryMode
{
    /// <summary>Forward once; a failure is answered 502/503/504 and nothing is kept (the default).</summary>
    Direct,

    /// <summary>Forward first; on failure keep the event durably, answer 202 and redeliver it in order.</summary>
    StoreAndForward,
}
