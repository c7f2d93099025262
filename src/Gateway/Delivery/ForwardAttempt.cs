namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>
/// Request feature present while an event is forwarded with store-and-forward (live or redelivered):
/// the steps that can fail the forward (the bearer-token transform, the retryable-answer transform)
/// record why here instead of answering, and the delivery step decides: park and 202, or a retry.
/// </summary>
internal sealed class ForwardAttempt(string idempotencyKey)
{
    /// <summary>The event's <c>Idempotency-Key</c>, computed once.</summary>
    public string IdempotencyKey { get; } = idempotencyKey;

    /// <summary>Why the forward did not reach a final answer, or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>OCP®'s <c>Retry-After</c>, when its retryable answer had one.</summary>
    public TimeSpan? RetryAfter { get; private set; }

    public void Fail(string reason, TimeSpan? retryAfter = null)
    {
        Failure ??= reason;
        RetryAfter ??= retryAfter;
    }

    /// <summary>408, 425, 429 and 5xx are worth another attempt; every other answer is OCP®'s final word.</summary>
    public static bool IsRetryable(int status) => status is 408 or 425 or 429 or >= 500;
}
