namespace OcpTalkdesk.Gateway.Outcomes;

/// <summary>How the gateway dealt with one call: the <c>outcome</c> label.</summary>
public enum Outcome
{
    /// <summary>Sent to OCP®, whose answer went back (any status but a passed-back 401).</summary>
    Forwarded,

    /// <summary>400: the event broke its schema.</summary>
    RejectedSchema,

    /// <summary>400, 413 or 415: not a readable JSON event of a known type.</summary>
    RejectedMalformed,

    /// <summary>401 or 403: the caller or the gateway's token was refused.</summary>
    Unauthorized,

    /// <summary>504: the execution timeout expired.</summary>
    Timeout,

    /// <summary>502: OCP® unreachable or broke off.</summary>
    UpstreamError,

    /// <summary>503: no token for OCP® could be obtained.</summary>
    TokenUnavailable,

    /// <summary>202: kept by store-and-forward for redelivery.</summary>
    Queued,

    /// <summary>Answered as before: Talkdesk resent an event already accepted.</summary>
    Duplicate,

    /// <summary>503: store-and-forward could neither deliver nor keep the event.</summary>
    StoreUnavailable,

    /// <summary>503 with <c>Retry-After</c>: store-and-forward was already holding its bound of events waiting for the store.</summary>
    StoreBusy,

    /// <summary>500: the gateway itself failed (an exception no step handled); the exception handler answered.</summary>
    GatewayError,
}
